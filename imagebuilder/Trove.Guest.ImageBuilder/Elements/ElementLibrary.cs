namespace Trove.Guest.ImageBuilder.Elements;

/// <summary>
/// The elements a build can use: every direct subdirectory of every <c>ELEMENTS_PATH</c> entry, then the built-in
/// element directories (ours, and diskimage-builder's when it is installed). The first path holding a name wins;
/// the ones it hides are kept in <see cref="Overrides"/> so the build can say so, as DIB does.
/// </summary>
public sealed class ElementLibrary
{
    private readonly Dictionary<string, Element> _elements = new(StringComparer.Ordinal);
    private readonly List<(string Name, string Winner, string Hidden)> _overrides = [];

    private ElementLibrary(IReadOnlyList<string> searchPath) => SearchPath = searchPath;

    /// <summary>The directories searched, in order of precedence.</summary>
    public IReadOnlyList<string> SearchPath { get; }

    public IReadOnlyList<(string Name, string Winner, string Hidden)> Overrides => _overrides;

    public IEnumerable<Element> All => _elements.Values;

    /// <summary><paramref name="elementsPath"/> is <c>ELEMENTS_PATH</c> (colon-separated); <paramref name="builtIn"/> come after it.</summary>
    public static ElementLibrary Load(string? elementsPath, IEnumerable<string> builtIn)
    {
        var entries = (elementsPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var entry in entries)
            if (!Directory.Exists(entry)) throw new ElementException($"ELEMENTS_PATH entry '{entry}' is not a directory");
        entries.AddRange(builtIn.Where(Directory.Exists));
        var search = entries.Select(e => Path.GetFullPath(e)).Distinct(StringComparer.Ordinal).ToList();
        var library = new ElementLibrary(search);
        foreach (var dir in search)
        {
            foreach (var candidate in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(candidate);
                if (name.StartsWith('.') || name == "__pycache__") continue;
                if (library._elements.TryGetValue(name, out var winner))
                {
                    library._overrides.Add((name, winner.Path, candidate));
                    continue;
                }
                library._elements[name] = Element.Load(candidate);
            }
        }
        return library;
    }

    public bool TryGet(string name, out Element element) => _elements.TryGetValue(name, out element!);

    /// <summary>The element directories that ship with diskimage-builder, where Debian's python3-diskimage-builder puts them.</summary>
    public static IEnumerable<string> DiskImageBuilderElements()
    {
        foreach (var site in new[] { "/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages" })
        {
            var dir = Path.Combine(site, "diskimage_builder", "elements");
            if (Directory.Exists(dir)) yield return dir;
        }
    }
}
