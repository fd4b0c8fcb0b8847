namespace Trove.Guest.ImageBuilder.SupplyChain;

/// <summary>An installed Debian package, as dpkg records it.</summary>
public sealed record InstalledPackage(string Name, string Version, string Architecture, string? Source, string? Homepage)
{
    /// <summary>The package URL (purl spec, deb type): the epoch's colon is percent-encoded, as purl requires.</summary>
    public string Purl(string distribution) =>
        $"pkg:deb/{distribution}/{Uri.EscapeDataString(Name)}@{Uri.EscapeDataString(Version)}?arch={Uri.EscapeDataString(Architecture)}";
}

/// <summary>Reads the packages installed in a tree from dpkg's status file, without running anything inside it.</summary>
public static class DpkgPackages
{
    public static IReadOnlyList<InstalledPackage> Read(string root)
    {
        var status = Path.Combine(root, "var", "lib", "dpkg", "status");
        if (!File.Exists(status)) return [];
        var packages = new List<InstalledPackage>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void Flush()
        {
            // Only what is installed: removed-but-configured and half-installed entries are not in the image's software.
            if (fields.TryGetValue("Package", out var name) && fields.TryGetValue("Status", out var state) && state.EndsWith(" installed", StringComparison.Ordinal))
            {
                packages.Add(new InstalledPackage(name, fields.GetValueOrDefault("Version") ?? "", fields.GetValueOrDefault("Architecture") ?? "",
                    fields.GetValueOrDefault("Source")?.Split(' ')[0], fields.GetValueOrDefault("Homepage")));
            }
            fields.Clear();
        }
        foreach (var line in File.ReadLines(status))
        {
            if (line.Length == 0) { Flush(); continue; }
            if (line[0] is ' ' or '\t') continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0) fields[line[..colon]] = line[(colon + 1)..].Trim();
        }
        Flush();
        return packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal).ToList();
    }
}
