using System.Text.Json.Nodes;
using Trove.Guest.ImageBuilder.SupplyChain;

namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>
/// The image file as Glance is told about it: its disk format, size, sha256 (the identity that makes a registration
/// idempotent), and the SBOM that <c>build</c> writes beside it (<c>name.qcow2</c> → <c>name.spdx.json</c>), if any.
/// </summary>
public sealed record ImageFile(string Path, long Length, string DiskFormat, string Sha256, string? SbomPath, string? SbomSha256)
{
    /// <summary>Glance's <c>disk_format</c> for each format name <c>qemu-img info</c> reports.</summary>
    private static readonly Dictionary<string, string> QemuToGlance = new(StringComparer.Ordinal)
    {
        ["qcow2"] = "qcow2", ["raw"] = "raw", ["vhdx"] = "vhdx", ["vmdk"] = "vmdk", ["vpc"] = "vhd", ["vdi"] = "vdi", ["ploop"] = "ploop",
    };

    private static readonly Dictionary<string, string> ExtensionToGlance = new(StringComparer.OrdinalIgnoreCase)
    {
        [".qcow2"] = "qcow2", [".raw"] = "raw", [".img"] = "raw", [".vhdx"] = "vhdx", [".vmdk"] = "vmdk", [".vhd"] = "vhd",
        [".vdi"] = "vdi", [".iso"] = "iso",
    };

    public static async Task<ImageFile> InspectAsync(string path, TextWriter log, CancellationToken ct)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new RegistrationException($"image {full} is a directory, not an image file");
        if (!File.Exists(full)) throw new RegistrationException($"image file {full} not found");
        var length = new FileInfo(full).Length;
        if (length == 0) throw new RegistrationException($"image file {full} is empty");
        var format = await DiskFormatAsync(full, log, ct).ConfigureAwait(false);
        var sha256 = await ContentHash.OfFileAsync(full, ct).ConfigureAwait(false);
        var sbom = System.IO.Path.ChangeExtension(full, ".spdx.json");
        var sbomSha256 = File.Exists(sbom) ? await ContentHash.OfFileAsync(sbom, ct).ConfigureAwait(false) : null;
        return new ImageFile(full, length, format, sha256, sbomSha256 is null ? null : sbom, sbomSha256);
    }

    private static async Task<string> DiskFormatAsync(string path, TextWriter log, CancellationToken ct)
    {
        ExtensionToGlance.TryGetValue(System.IO.Path.GetExtension(path), out var byExtension);
        string? detected;
        try
        {
            // -U: an image a VM still has open is locked, and info only reads the header.
            var json = await HostTools.RunAsync("disk format", "qemu-img", ["info", "-U", "--output=json", path], ct).ConfigureAwait(false);
            detected = JsonNode.Parse(json)?["format"]?.GetValue<string>();
        }
        catch (HostToolException e)
        {
            if (byExtension is null) throw new RegistrationException($"cannot tell the disk format of {path}: {e.Message}; name it .qcow2, .raw or .vhdx", e);
            await log.WriteLineAsync($"qemu-img could not read {path} ({e.Message}); taking the disk format from its name: {byExtension}").ConfigureAwait(false);
            return byExtension;
        }
        // qemu-img calls an ISO raw, and so it is, but Glance and Nova treat iso images apart.
        if (detected == "raw" && byExtension == "iso") return "iso";
        if (detected is null || !QemuToGlance.TryGetValue(detected, out var format))
            throw new RegistrationException($"{path} is in the {detected ?? "unknown"} format, which Glance does not take (qcow2, raw, vhdx, vmdk, vhd, vdi)");
        if (byExtension is not null && byExtension != format)
            await log.WriteLineAsync($"note: {path} is named like {byExtension} but its contents are {format}; registering it as {format}").ConfigureAwait(false);
        return format;
    }
}
