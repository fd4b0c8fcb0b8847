namespace Trove.Guest.Testing;

/// <summary>Where the repository and the shared reference material (<c>../shared</c>) are.</summary>
public static class RepoPaths
{
    public static readonly string Root = FindRoot();

    /// <summary><c>../shared</c> next to the repository, or <c>$TROVE_SHARED</c>.</summary>
    public static readonly string Shared = Environment.GetEnvironmentVariable("TROVE_SHARED") is { Length: > 0 } s
        ? s
        : Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string Interop(string file) => Path.Combine(Shared, "interop", file);

    /// <summary>Our own Python helpers, copied next to the test assembly.</summary>
    public static string TestScript(string file) => Path.Combine(AppContext.BaseDirectory, "interop", file);

    /// <summary>Debian's python, which sees python3-oslo.messaging and python3-trove (the pyenv one on PATH does not).</summary>
    public const string Python = "/usr/bin/python3";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Trove.Guest.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Trove.Guest.sln not found above " + AppContext.BaseDirectory);
    }
}
