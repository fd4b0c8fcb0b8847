namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>Elements written on disk for a test: a directory per element with the files asked for.</summary>
public sealed class ElementTree : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("tgi-elements-").FullName;

    /// <summary>Writes <paramref name="files"/> (relative path → content) into element <paramref name="name"/>; "+x" after a path makes it executable.</summary>
    public ElementTree With(string name, params (string Path, string Content)[] files)
    {
        var dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        foreach (var (path, content) in files)
        {
            var executable = path.EndsWith("+x", StringComparison.Ordinal);
            var full = Path.Combine(dir, executable ? path[..^2] : path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            if (executable) File.SetUnixFileMode(full, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return this;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
