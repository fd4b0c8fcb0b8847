using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Trove.Guest.ImageBuilder.Elements;

namespace Trove.Guest.ImageBuilder.SupplyChain;

/// <summary>What the records of one build are made from.</summary>
public sealed record BuildFacts(
    string Output, string Root, IReadOnlyList<Element> Elements, IReadOnlyList<string> ImageFiles, string TreeSha256, string TreeListing,
    long? SourceDateEpoch, string CacheUsed, IReadOnlyList<(string Step, TimeSpan Elapsed)> Steps, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// The files a build leaves beside its images: <c>OUTPUT.spdx.json</c> (SBOM), <c>OUTPUT.manifest.json</c> (elements with
/// content hashes, knobs, tree hash, outputs, step times) and a <c>FILE.sha256</c> for each image, in sha256sum's format
/// as DIB's <c>DIB_CHECKSUM</c> writes it.
/// </summary>
public static class BuildRecords
{
    private static readonly string[] SecretWords = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"];

    public static IReadOnlyList<string> Write(BuildFacts facts)
    {
        var written = new List<string>();
        var created = facts.SourceDateEpoch is { } epoch ? DateTimeOffset.FromUnixTimeSeconds(epoch) : DateTimeOffset.UtcNow;
        var elements = facts.Elements.Select(e => new ElementRecord(e.Name, e.Path, ContentHash.OfDirectory(e.Path))).ToList();
        var packages = DpkgPackages.Read(facts.Root);
        var imageName = Path.GetFileName(facts.Output);

        var sbom = facts.Output + ".spdx.json";
        SbomWriter.Write(sbom, new SbomSubject(imageName, facts.TreeSha256, SbomWriter.Distribution(facts.Root), created, elements, packages));
        written.Add(sbom);

        var outputs = new List<(string File, long Bytes, string Sha256)>();
        foreach (var file in facts.ImageFiles)
        {
            var sha = ContentHash.OfFile(file);
            File.WriteAllText(file + ".sha256", $"{sha}  {Path.GetFileName(file)}\n");
            written.Add(file + ".sha256");
            outputs.Add((file, new FileInfo(file).Length, sha));
        }

        var manifest = facts.Output + ".manifest.json";
        using (var stream = File.Create(manifest))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("tool", "trove-guest-image");
            json.WriteString("toolVersion", typeof(BuildRecords).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
            json.WriteString("image", imageName);
            json.WriteString("created", created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (facts.SourceDateEpoch is { } sde) json.WriteNumber("sourceDateEpoch", sde);
            json.WriteString("treeSha256", facts.TreeSha256);
            json.WriteString("treeListing", Path.GetFileName(facts.TreeListing));
            json.WriteString("cacheUsed", facts.CacheUsed);
            json.WriteStartObject("sbom");
            json.WriteString("file", Path.GetFileName(sbom));
            json.WriteString("sha256", ContentHash.OfFile(sbom));
            json.WriteNumber("packages", packages.Count);
            json.WriteEndObject();
            json.WriteStartArray("elements");
            foreach (var e in elements)
            {
                json.WriteStartObject();
                json.WriteString("name", e.Name);
                json.WriteString("path", e.Path);
                json.WriteString("sha256", e.Sha256);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartArray("outputs");
            foreach (var (file, bytes, sha) in outputs)
            {
                json.WriteStartObject();
                json.WriteString("file", Path.GetFileName(file));
                json.WriteNumber("bytes", bytes);
                json.WriteString("sha256", sha);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            // Knobs as the hooks saw them; a value whose name says it is a secret is never written.
            json.WriteStartObject("settings");
            json.WriteString("ARCH", facts.Environment.GetValueOrDefault("ARCH"));
            foreach (var (name, value) in facts.Environment.Where(kv => kv.Key.StartsWith("DIB_", StringComparison.Ordinal) && kv.Key != "DIB_ENV")
                         .OrderBy(kv => kv.Key, StringComparer.Ordinal))
                json.WriteString(name, SecretWords.Any(w => name.Contains(w, StringComparison.Ordinal)) ? "(set; not recorded)" : value);
            json.WriteEndObject();
            json.WriteStartArray("steps");
            foreach (var (step, elapsed) in facts.Steps)
            {
                json.WriteStartObject();
                json.WriteString("step", step);
                json.WriteNumber("seconds", Math.Round(elapsed.TotalSeconds, 2));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        written.Add(manifest);
        return written;
    }
}
