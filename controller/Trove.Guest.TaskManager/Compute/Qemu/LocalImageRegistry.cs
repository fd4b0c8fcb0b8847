using System.Security.Cryptography;
using System.Text.Json;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>One image in <see cref="LocalImageRegistry"/>.</summary>
/// <param name="Properties">Image properties as Glance keeps them; the qemu driver reads <c>hw_firmware_type</c> (<c>bios</c> or <c>uefi</c>), as Nova does.</param>
public sealed record LocalImage(string Id, string Name, string Datastore, string DatastoreVersion, string Sha256, long Size, DateTimeOffset Created,
    IReadOnlyDictionary<string, string>? Properties = null);

/// <summary>
/// The embedded image registry, for hosts without Glance: <c>Root/&lt;id&gt;.qcow2</c> with <c>&lt;id&gt;.json</c>
/// beside it (name, datastore, version, SHA-256). Registering the same bytes again returns the image already there, as
/// <c>trove-guest-image register</c> does with Glance. Ids are UUIDs, so a datastore version's <c>image</c> names a
/// file without any path of its own.
/// </summary>
public sealed class LocalImageRegistry(string root)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public string Root { get; } = Path.GetFullPath(root);

    public async Task<LocalImage> RegisterAsync(string file, string name, string datastore, string version, CancellationToken ct,
        IReadOnlyDictionary<string, string>? properties = null)
    {
        Directory.CreateDirectory(Root);
        string sha;
        await using (var stream = File.OpenRead(file)) sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
        properties ??= new Dictionary<string, string>();
        if (List().FirstOrDefault(i => i.Sha256 == sha && i.Datastore == datastore && i.DatastoreVersion == version
                && (i.Properties ?? new Dictionary<string, string>()).OrderBy(p => p.Key).SequenceEqual(properties.OrderBy(p => p.Key))) is { } existing)
            return existing;
        var image = new LocalImage(Guid.NewGuid().ToString(), name, datastore, version, sha, new FileInfo(file).Length, DateTimeOffset.UtcNow, properties);
        var partial = PathOf(image.Id) + ".partial";
        File.Copy(file, partial, overwrite: true);
        File.Move(partial, PathOf(image.Id));
        await File.WriteAllTextAsync(Path.Combine(Root, image.Id + ".json"), JsonSerializer.Serialize(image, Json), ct).ConfigureAwait(false);
        return image;
    }

    public IReadOnlyList<LocalImage> List() =>
        !Directory.Exists(Root) ? [] :
        Directory.GetFiles(Root, "*.json").Select(f => JsonSerializer.Deserialize<LocalImage>(File.ReadAllText(f), Json)!)
            .Where(i => File.Exists(PathOf(i.Id))).OrderByDescending(i => i.Created).ToList();

    /// <summary>The image <paramref name="id"/>; or, with no id, the newest image of the datastore version.</summary>
    public LocalImage Find(string? id, string datastoreManager, string version)
    {
        if (id is { Length: > 0 })
        {
            if (!Guid.TryParse(id, out _)) throw new ComputeDriverException($"image id '{id}' is not a UUID");
            return List().FirstOrDefault(i => i.Id == id) ?? throw new ComputeDriverException($"image {id} is not in the image registry {Root}");
        }
        return List().FirstOrDefault(i => i.Datastore == datastoreManager && i.DatastoreVersion == version)
            ?? throw new ComputeDriverException($"the image registry {Root} has no image for {datastoreManager} {version}");
    }

    /// <summary>The file of a registered image.</summary>
    public string PathOf(string id) => Path.Combine(Root, id + ".qcow2");
}
