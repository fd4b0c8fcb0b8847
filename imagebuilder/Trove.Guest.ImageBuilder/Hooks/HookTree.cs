using Trove.Guest.ImageBuilder.Elements;

namespace Trove.Guest.ImageBuilder.Hooks;

/// <summary>
/// The merged hook tree of a build (DIB's <c>$TMP_HOOKS_PATH</c>): every first-level subdirectory of every element
/// (except <c>tests</c> and <c>__pycache__</c>) copied into one directory of that name, so a script can reach
/// <c>$(dirname $0)/../static</c> or <c>../bin</c>. Two elements with the same entry name in the same subdirectory is
/// an error naming both, except for directories, which merge (DIB's <c>copy_hooks_not_overwrite</c>). Top-level files
/// (element-deps, README...) are copied to the root and may overwrite each other.
/// </summary>
public static class HookTree
{
    private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal) { "tests", "__pycache__" };

    /// <returns>Which element each hook came from, by <c>phase.d/script</c> (the live display names it).</returns>
    public static IReadOnlyDictionary<string, string> Assemble(IEnumerable<Element> elements, string target)
    {
        Directory.CreateDirectory(target);
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var element in elements)
        {
            foreach (var sub in Directory.EnumerateDirectories(element.Path).Order(StringComparer.Ordinal))
            {
                var subName = Path.GetFileName(sub);
                if (Skipped.Contains(subName)) continue;
                var destination = Path.Combine(target, subName);
                Directory.CreateDirectory(destination);
                foreach (var entry in Directory.EnumerateFileSystemEntries(sub).Order(StringComparer.Ordinal))
                {
                    var name = Path.GetFileName(entry);
                    var copy = Path.Combine(destination, name);
                    var key = subName + "/" + name;
                    var isDirectory = Directory.Exists(entry);
                    if (!isDirectory && owner.TryGetValue(key, out var first))
                        throw new ElementException($"duplicated hook: '{key}' is in both '{first}' and '{element.Name}'");
                    owner.TryAdd(key, element.Name);
                    if (isDirectory) CopyDirectory(entry, copy);
                    else CopyFile(entry, copy);
                }
            }
            foreach (var file in Directory.EnumerateFiles(element.Path)) CopyFile(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return owner;
    }

    /// <summary><c>cp -a</c> of one file: a link stays a link, a file keeps its mode and times.</summary>
    private static void CopyFile(string source, string destination)
    {
        var info = new FileInfo(source);
        if (File.Exists(destination) || Directory.Exists(destination) || new FileInfo(destination).LinkTarget is not null) File.Delete(destination);
        if (info.LinkTarget is { } link)
        {
            File.CreateSymbolicLink(destination, link);
            return;
        }
        File.Copy(source, destination);
        File.SetUnixFileMode(destination, info.UnixFileMode);
        File.SetLastWriteTimeUtc(destination, info.LastWriteTimeUtc);
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var entry in Directory.EnumerateFileSystemEntries(source))
        {
            var target = Path.Combine(destination, Path.GetFileName(entry));
            if (Directory.Exists(entry) && new DirectoryInfo(entry).LinkTarget is null) CopyDirectory(entry, target);
            else CopyFile(entry, target);
        }
    }
}
