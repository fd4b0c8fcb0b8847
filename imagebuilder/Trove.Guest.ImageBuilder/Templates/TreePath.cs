namespace Trove.Guest.ImageBuilder.Templates;

/// <summary>
/// Resolves a path inside an image tree as the image itself would see it: symlinks (relative or absolute, such as
/// Debian's <c>/lib -> usr/lib</c>) are followed within the tree, never into the host's file system.
/// </summary>
public static class TreePath
{
    private const int MaxLinks = 40;

    /// <summary>The host path of <paramref name="pathInImage"/> (absolute, as seen from inside the image); the last component is not followed.</summary>
    public static string Resolve(string root, string pathInImage)
    {
        root = Path.GetFullPath(root).TrimEnd('/');
        if (!pathInImage.StartsWith('/')) throw new ArgumentException($"'{pathInImage}' is not an absolute path in the image");
        var pending = new Stack<string>(pathInImage.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..")
            {
                // As in the image: ".." at its root stays at its root.
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var host = root + "/" + string.Join('/', resolved.Append(part));
            var target = pending.Count > 0 ? new FileInfo(host).LinkTarget : null;
            if (target is null)
            {
                resolved.Add(part);
                continue;
            }
            if (++links > MaxLinks) throw new IOException($"too many symbolic links resolving {pathInImage} in the image");
            if (target.StartsWith('/')) resolved.Clear();
            foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(next);
        }
        return root + "/" + string.Join('/', resolved);
    }
}
