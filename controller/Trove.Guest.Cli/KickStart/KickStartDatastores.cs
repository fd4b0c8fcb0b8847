namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// The datastores kick-start sets up: each has an element of the same name, a guest manager of the same name, and the
/// version Debian 12 (bookworm, our images' release) ships.
/// </summary>
internal static class KickStartDatastores
{
    private static readonly Dictionary<string, string> Versions = new(StringComparer.Ordinal)
    {
        ["mariadb"] = "10.11", ["mysql"] = "8.0", ["postgresql"] = "15", ["redis"] = "7.0",
    };

    public static IReadOnlyCollection<string> Names => Versions.Keys;

    public static bool IsKnown(string name) => Versions.ContainsKey(name);

    /// <summary>The datastore version's name (and version number) for <paramref name="datastore"/>.</summary>
    public static string VersionOf(string datastore) => Versions[datastore];
}
