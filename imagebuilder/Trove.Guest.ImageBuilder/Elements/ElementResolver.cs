namespace Trove.Guest.ImageBuilder.Elements;

/// <summary>The expanded element set of a build: every element, by name, and the virtual names they provide.</summary>
public sealed record ResolvedElements(IReadOnlyList<Element> Elements, IReadOnlyDictionary<string, string> ProvidedBy)
{
    public IEnumerable<string> Names => Elements.Select(e => e.Name);

    public bool Contains(string name) => Elements.Any(e => e.Name == name);
}

/// <summary>
/// diskimage-builder's dependency expansion (element_dependencies.py): breadth first from the requested elements,
/// with its rules for virtual names. An element's <c>element-provides</c> names may be provided once only; a requested
/// element may not be one that another element provides; the set must provide <c>operating-system</c>. Unlike DIB,
/// errors name the chain that led to the element, and dependency cycles are refused (DIB's own elements have none).
/// </summary>
public static class ElementResolver
{
    public const string OperatingSystem = "operating-system";

    /// <summary>
    /// The command-line defaults of disk-image-create: <c>base</c> first unless <paramref name="skipBase"/> (<c>-n</c>),
    /// and <c>block-device-mbr</c> added when <c>vm</c> is asked for without a <c>block-device-*</c> element.
    /// </summary>
    public static IReadOnlyList<string> WithDefaults(IReadOnlyList<string> requested, bool skipBase)
    {
        var list = new List<string>();
        if (!skipBase && !requested.Contains("base")) list.Add("base");
        list.AddRange(requested);
        if (requested.Contains("vm") && !requested.Any(r => r.StartsWith("block-device-", StringComparison.Ordinal))) list.Add("block-device-mbr");
        return list;
    }

    public static ResolvedElements Resolve(ElementLibrary library, IReadOnlyList<string> requested, bool requireOperatingSystem = true)
    {
        var final = new List<string>();
        var finalSet = new HashSet<string>(StringComparer.Ordinal);
        var providedBy = new Dictionary<string, string>(StringComparer.Ordinal);
        var neededBy = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var name in requested.Distinct(StringComparer.Ordinal))
        {
            queue.Enqueue(name);
            if (finalSet.Add(name)) final.Add(name);
        }

        while (queue.Count > 0)
        {
            var name = queue.Dequeue();
            if (providedBy.ContainsKey(name)) continue;
            if (!library.TryGet(name, out var element))
                throw new ElementException($"element '{name}' not found{Chain(name, neededBy)}; searched {string.Join(":", library.SearchPath)}");
            foreach (var virtualName in element.Provides)
            {
                if (providedBy.TryGetValue(virtualName, out var other))
                    throw new ElementException($"'{virtualName}' is provided by both '{other}' and '{name}'{Chain(name, neededBy)}: keep one of them");
                providedBy[virtualName] = name;
            }
            foreach (var dep in element.Dependencies)
            {
                if (finalSet.Contains(dep) || providedBy.ContainsKey(dep)) continue;
                neededBy[dep] = name;
                finalSet.Add(dep);
                final.Add(dep);
                queue.Enqueue(dep);
            }
        }

        foreach (var name in requested)
        {
            if (providedBy.TryGetValue(name, out var provider))
                throw new ElementException($"'{name}' was asked for, but '{provider}' provides it already; ask for one of them");
        }
        if (requireOperatingSystem && !providedBy.ContainsKey(OperatingSystem))
            throw new ElementException($"no element provides '{OperatingSystem}': include an operating system element (e.g. debian-minimal)");

        var elements = final.Where(n => !providedBy.ContainsKey(n)).Select(n => { library.TryGet(n, out var e); return e; })
            .OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        ThrowOnCycle(elements, providedBy);
        return new ResolvedElements(elements, providedBy);
    }

    /// <summary>" (needed by a &lt;- b &lt;- c)": who pulled the element in, back to what was asked for.</summary>
    private static string Chain(string name, IReadOnlyDictionary<string, string> neededBy)
    {
        var chain = new List<string>();
        for (var current = name; neededBy.TryGetValue(current, out var parent) && chain.Count < 100; current = parent) chain.Add(parent);
        return chain.Count == 0 ? "" : $" (needed by {string.Join(" <- ", chain)})";
    }

    private static void ThrowOnCycle(IReadOnlyList<Element> elements, IReadOnlyDictionary<string, string> providedBy)
    {
        var byName = elements.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the path, 2 = done
        var path = new List<string>();

        void Visit(string name)
        {
            state[name] = 1;
            path.Add(name);
            foreach (var raw in byName[name].Dependencies)
            {
                var dep = providedBy.TryGetValue(raw, out var provider) ? provider : raw;
                if (!byName.ContainsKey(dep)) continue;
                if (state.GetValueOrDefault(dep) == 1)
                    throw new ElementException($"element dependency cycle: {string.Join(" -> ", path.SkipWhile(p => p != dep).Append(dep))}");
                if (state.GetValueOrDefault(dep) == 0) Visit(dep);
            }
            path.RemoveAt(path.Count - 1);
            state[name] = 2;
        }

        foreach (var e in elements)
            if (state.GetValueOrDefault(e.Name) == 0) Visit(e.Name);
    }
}
