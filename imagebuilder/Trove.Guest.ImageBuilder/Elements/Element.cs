namespace Trove.Guest.ImageBuilder.Elements;

/// <summary>
/// One diskimage-builder element: a directory named after the element, with optional <c>element-deps</c> (elements it
/// needs) and <c>element-provides</c> (virtual names it stands for, such as <c>operating-system</c>), one name per line.
/// </summary>
public sealed record Element(string Name, string Path, IReadOnlyList<string> Dependencies, IReadOnlyList<string> Provides)
{
    public static Element Load(string directory)
    {
        var path = System.IO.Path.GetFullPath(directory);
        // Symlinked elements are used through their real path, as DIB resolves them.
        var real = new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        return new Element(System.IO.Path.GetFileName(path.TrimEnd('/')), real, ReadNames(System.IO.Path.Combine(real, "element-deps")),
            ReadNames(System.IO.Path.Combine(real, "element-provides")));
    }

    /// <summary>Names, one per line; blank lines are ignored and there is no comment syntax (DIB's rules).</summary>
    private static IReadOnlyList<string> ReadNames(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList() : [];
}
