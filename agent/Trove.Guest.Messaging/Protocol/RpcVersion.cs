using System.Globalization;

namespace Trove.Guest.Messaging.Protocol;

/// <summary>An oslo.messaging API version: <c>"X.Y"</c> or <c>"X.Y.Z"</c>.</summary>
public readonly record struct RpcVersion(int Major, int Minor, int Revision)
{
    public static readonly RpcVersion Default = new(1, 0, 0);

    public static bool TryParse(string? text, out RpcVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text)) return false;
        var parts = text.Split('.');
        if (parts.Length is < 2 or > 3) return false;
        var numbers = new int[3];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i])) return false;
        }
        version = new RpcVersion(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    public static RpcVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not an RPC version (X.Y or X.Y.Z)");

    /// <summary>
    /// oslo's <c>version_is_compatible(imp, version)</c>: this (the implementation) can serve
    /// <paramref name="requested"/> when the majors match, the requested minor is not newer, and for equal
    /// minors the requested revision is not newer.
    /// </summary>
    public bool CanServe(RpcVersion requested) =>
        requested.Major == Major
        && requested.Minor <= Minor
        && (requested.Minor != Minor || requested.Revision <= Revision);

    public override string ToString() =>
        Revision == 0 ? $"{Major}.{Minor}" : $"{Major}.{Minor}.{Revision}";
}
