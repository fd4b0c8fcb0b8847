using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Trove.Guest.ImageBuilder.SupplyChain;

/// <summary>An element a build used, with the hash of its whole directory.</summary>
public sealed record ElementRecord(string Name, string Path, string Sha256);

/// <summary>What an SBOM describes: the image (named, identified by its tree hash), the elements it was built from and the packages it holds.</summary>
public sealed record SbomSubject(string ImageName, string TreeSha256, string Distribution, DateTimeOffset Created,
    IReadOnlyList<ElementRecord> Elements, IReadOnlyList<InstalledPackage> Packages);

/// <summary>
/// Writes an SPDX 2.3 JSON document: the image as the described package, which CONTAINS every installed package (with
/// its purl) and is GENERATED_FROM every element (with its SHA-256). Output is deterministic for a given subject
/// (ordered entries, a namespace derived from the tree hash, <c>created</c> from <c>SOURCE_DATE_EPOCH</c> when set).
/// </summary>
public static partial class SbomWriter
{
    [GeneratedRegex("[^A-Za-z0-9.-]")]
    private static partial Regex NotIdCharacter();

    public static void Write(string path, SbomSubject subject)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        const string imageId = "SPDXRef-Image";
        json.WriteStartObject();
        json.WriteString("spdxVersion", "SPDX-2.3");
        json.WriteString("dataLicense", "CC0-1.0");
        json.WriteString("SPDXID", "SPDXRef-DOCUMENT");
        json.WriteString("name", subject.ImageName);
        json.WriteString("documentNamespace", $"https://trove-guest.invalid/spdx/{Uri.EscapeDataString(subject.ImageName)}-{subject.TreeSha256}");
        json.WriteStartObject("creationInfo");
        json.WriteStartArray("creators");
        json.WriteStringValue("Tool: trove-guest-image");
        json.WriteEndArray();
        json.WriteString("created", subject.Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        json.WriteEndObject();
        json.WriteStartArray("documentDescribes");
        json.WriteStringValue(imageId);
        json.WriteEndArray();

        var relationships = new List<(string From, string Type, string To)> { ("SPDXRef-DOCUMENT", "DESCRIBES", imageId) };
        json.WriteStartArray("packages");
        Package(json, imageId, subject.ImageName, "sha256:" + subject.TreeSha256, "OPERATING-SYSTEM", null, null,
            $"the image's root tree; its version is the tree hash of {subject.ImageName}.tree.txt");
        for (var i = 0; i < subject.Elements.Count; i++)
        {
            var element = subject.Elements[i];
            var id = $"SPDXRef-Element-{i + 1}-{NotIdCharacter().Replace(element.Name, "-")}";
            Package(json, id, element.Name, element.Sha256[..16], "SOURCE", element.Sha256, null, $"diskimage-builder element from {element.Path}");
            relationships.Add((imageId, "GENERATED_FROM", id));
        }
        for (var i = 0; i < subject.Packages.Count; i++)
        {
            var package = subject.Packages[i];
            var id = $"SPDXRef-Package-{i + 1}-{NotIdCharacter().Replace(package.Name, "-")}";
            Package(json, id, package.Name, package.Version, "LIBRARY", null, package.Purl(subject.Distribution),
                package.Source is { } source && source != package.Name ? $"built from the {source} source package" : null, package.Homepage);
            relationships.Add((imageId, "CONTAINS", id));
        }
        json.WriteEndArray();

        json.WriteStartArray("relationships");
        foreach (var (from, type, to) in relationships)
        {
            json.WriteStartObject();
            json.WriteString("spdxElementId", from);
            json.WriteString("relationshipType", type);
            json.WriteString("relatedSpdxElement", to);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Package(Utf8JsonWriter json, string id, string name, string version, string purpose, string? sha256, string? purl, string? comment, string? homepage = null)
    {
        json.WriteStartObject();
        json.WriteString("SPDXID", id);
        json.WriteString("name", name);
        json.WriteString("versionInfo", version);
        json.WriteString("primaryPackagePurpose", purpose);
        json.WriteString("downloadLocation", "NOASSERTION");
        if (homepage is not null && Uri.IsWellFormedUriString(homepage, UriKind.Absolute)) json.WriteString("homepage", homepage);
        json.WriteBoolean("filesAnalyzed", false);
        json.WriteString("licenseConcluded", "NOASSERTION");
        json.WriteString("licenseDeclared", "NOASSERTION");
        json.WriteString("copyrightText", "NOASSERTION");
        if (sha256 is not null)
        {
            json.WriteStartArray("checksums");
            json.WriteStartObject();
            json.WriteString("algorithm", "SHA256");
            json.WriteString("checksumValue", sha256);
            json.WriteEndObject();
            json.WriteEndArray();
        }
        if (purl is not null)
        {
            json.WriteStartArray("externalRefs");
            json.WriteStartObject();
            json.WriteString("referenceCategory", "PACKAGE-MANAGER");
            json.WriteString("referenceType", "purl");
            json.WriteString("referenceLocator", purl);
            json.WriteEndObject();
            json.WriteEndArray();
        }
        if (comment is not null) json.WriteString("comment", comment);
        json.WriteEndObject();
    }

    /// <summary>The distribution's purl namespace: os-release's <c>ID</c> (debian, ubuntu), or <c>debian</c>.</summary>
    public static string Distribution(string root)
    {
        var osRelease = Path.Combine(root, "etc", "os-release");
        if (!File.Exists(osRelease) && File.Exists(Path.Combine(root, "usr", "lib", "os-release"))) osRelease = Path.Combine(root, "usr", "lib", "os-release");
        if (!File.Exists(osRelease)) return "debian";
        var id = File.ReadLines(osRelease, Encoding.UTF8).FirstOrDefault(l => l.StartsWith("ID=", StringComparison.Ordinal));
        return id is null ? "debian" : id[3..].Trim('"', '\'');
    }
}
