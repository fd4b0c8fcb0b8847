using System.Text.Json.Nodes;

namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>The image Trove will boot for the datastore version, and whether it was already in Glance.</summary>
public sealed record RegistrationResult(string ImageId, string ImageName, bool Reused, ImageFile File);

/// <summary>
/// One registration: the image into Glance (once per content: an active image with the same sha256 is reused, and
/// an upload an earlier run left unfinished is removed first), then the datastore version into Trove's tables.
/// </summary>
public sealed class ImageRegistration(RegisterRequest request, TextWriter log)
{
    public const string Sha256Property = "trove_guest_image_sha256";
    public const string SbomSha256Property = "trove_guest_sbom_sha256";

    /// <summary>States a direct upload passes through; an image left in one of them by an earlier run holds no usable data.</summary>
    private static readonly HashSet<string> Unfinished = new(StringComparer.Ordinal) { "queued", "saving", "killed" };

    public async Task<RegistrationResult> RunAsync(CancellationToken ct)
    {
        var file = await ImageFile.InspectAsync(request.ImagePath, log, ct).ConfigureAwait(false);
        await log.WriteLineAsync($"image {file.Path}: {file.DiskFormat}, {UploadProgress.Size(file.Length)}, sha256 {file.Sha256}").ConfigureAwait(false);
        if (file.SbomPath is not null) await log.WriteLineAsync($"sbom {file.SbomPath}: sha256 {file.SbomSha256}").ConfigureAwait(false);

        using var glance = new GlanceClient(request.GlanceUrl, request.Token);
        var image = await FindReusableAsync(glance, file, ct).ConfigureAwait(false);
        var reused = image is not null;
        image ??= await UploadAsync(glance, file, ct).ConfigureAwait(false);

        if (request.TroveManage is { } command)
        {
            if (!TroveManage.KnownManagers.Contains(request.ManagerName))
                await log.WriteLineAsync($"note: '{request.ManagerName}' is not one of Trove's own managers; the guest agent needs it in datastore_registry_ext").ConfigureAwait(false);
            await new TroveManage(command, log).RegisterAsync(request.Datastore, request.Version, request.ManagerName, image.Id, ct).ConfigureAwait(false);
            await log.WriteLineAsync($"registered {request.Datastore} {request.Version} (manager {request.ManagerName}) with image {image.Id}, as the datastore's default version").ConfigureAwait(false);
        }
        return new RegistrationResult(image.Id, image.Name, reused, file);
    }

    /// <summary>An active image with this content, with the tags Trove looks for; unfinished uploads of it are deleted on the way.</summary>
    private async Task<GlanceImage?> FindReusableAsync(GlanceClient glance, ImageFile file, CancellationToken ct)
    {
        GlanceImage? active = null;
        foreach (var image in await glance.FindByPropertyAsync(Sha256Property, file.Sha256, ct).ConfigureAwait(false))
        {
            if (image.Status == "active" && active is null)
            {
                active = image;
            }
            else if (Unfinished.Contains(image.Status))
            {
                await log.WriteLineAsync($"deleting image {image.Id} ({image.Name}): an earlier upload of this file left it {image.Status}").ConfigureAwait(false);
                await glance.DeleteAsync(image.Id, ct).ConfigureAwait(false);
            }
            else if (image.Status != "active")
            {
                await log.WriteLineAsync($"note: image {image.Id} ({image.Name}) has this file's sha256 but is {image.Status}; leaving it alone").ConfigureAwait(false);
            }
        }
        if (active is null) return null;
        await log.WriteLineAsync($"image already in Glance as {active.Id} ({active.Name}, active); not uploading it again").ConfigureAwait(false);
        // The same image may be registered for a second datastore, which Trove finds only by its own tag.
        foreach (var tag in request.Tags.Except(active.Tags))
        {
            await log.WriteLineAsync($"adding tag {tag} to image {active.Id}").ConfigureAwait(false);
            await glance.AddTagAsync(active.Id, tag, ct).ConfigureAwait(false);
        }
        return active;
    }

    private async Task<GlanceImage> UploadAsync(GlanceClient glance, ImageFile file, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["name"] = request.ImageName,
            ["disk_format"] = file.DiskFormat,
            ["container_format"] = "bare",
            // As Trove's install guide uploads its guest images: Trove boots them from its own service project.
            ["visibility"] = "private",
            ["tags"] = new JsonArray(request.Tags.Select(t => (JsonNode)JsonValue.Create(t)).ToArray()),
            // Glance rejects custom properties that are not strings.
            ["trove_datastore"] = request.Datastore,
            ["trove_datastore_version"] = request.Version,
            [Sha256Property] = file.Sha256,
        };
        if (file.SbomSha256 is not null) body[SbomSha256Property] = file.SbomSha256;
        var image = await glance.CreateAsync(body, ct).ConfigureAwait(false);
        await log.WriteLineAsync($"created image {image.Id} ({image.Name}) in Glance at {glance.Url}; uploading {UploadProgress.Size(file.Length)}").ConfigureAwait(false);
        try
        {
            var progress = new UploadProgress(log, file.Length);
            var sha512 = await glance.UploadAsync(image.Id, file.Path, file.Length, progress.Report, ct).ConfigureAwait(false);
            var uploaded = await glance.GetAsync(image.Id, ct).ConfigureAwait(false);
            if (uploaded.Status != "active") throw new RegistrationException($"Glance left image {image.Id} {uploaded.Status} after the upload, not active");
            if (uploaded.Size != file.Length) throw new RegistrationException($"Glance stored {uploaded.Size} bytes for image {image.Id}, not the file's {file.Length}");
            if (uploaded.Property("os_hash_algo") == "sha512" && uploaded.Property("os_hash_value") is { } stored && stored != sha512)
                throw new RegistrationException($"Glance's sha512 of image {image.Id} ({stored}) is not that of the bytes sent ({sha512})");
            await log.WriteLineAsync($"image {image.Id} is active").ConfigureAwait(false);
            return uploaded;
        }
        catch (Exception e) when (e is RegistrationException or IOException or OperationCanceledException)
        {
            // Left queued or saving it would be found (and deleted) by the next run, but until then it is an image
            // nobody can boot, listed under Trove's tags.
            var cleanup = await DeleteQuietlyAsync(glance, image.Id).ConfigureAwait(false);
            if (e is OperationCanceledException) throw new OperationCanceledException($"upload cancelled; {cleanup}", e, ct);
            throw new RegistrationException($"upload of {file.Path} to Glance at {glance.Url} failed: {e.Message}; {cleanup}", e);
        }
    }

    private static async Task<string> DeleteQuietlyAsync(GlanceClient glance, string id)
    {
        try
        {
            // The caller's token may be the cancelled one; the delete must still go out, but not hang the exit.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await glance.DeleteAsync(id, deadline.Token).ConfigureAwait(false);
            return $"the partly uploaded image {id} was deleted";
        }
        catch (Exception e) when (e is RegistrationException or OperationCanceledException)
        {
            return $"the partly uploaded image {id} could not be deleted ({e.Message}); the next register of this file deletes it";
        }
    }
}
