using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.IO;
using Trove.Guest.Agent.ObjectStorage;

namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>
/// Backups in an S3-compatible store. S3 needs each part's length up front, so the stream is cut into parts of
/// <c>partSize</c> held in memory one at a time (bounded memory); a stream that fits in one part is a plain PUT.
/// The metadata Trove keeps on a Swift object (lsn, parent...) is only known once the producer has finished, when a
/// multipart upload can no longer take it: it goes into a small <c>&lt;object&gt;.meta.json</c> written last, with
/// the checksum (the object's ETag: the MD5 for one part, S3's multipart ETag otherwise). A backup exists once its
/// metadata does; a failed upload is aborted. Locations are <c>s3://bucket/object</c>.
/// </summary>
public sealed class S3BackupStorage(S3Client s3, int partSize, ILogger logger) : IBackupStorage
{
    public async Task<StoredBackup> SaveAsync(string container, string objectName, Stream data,
        Func<CancellationToken, Task<IReadOnlyDictionary<string, string>>> completeAsync, CancellationToken ct)
    {
        Validate(container, objectName);
        await s3.EnsureBucketAsync(container, ct).ConfigureAwait(false);
        var buffer = new byte[partSize];
        var length = await data.ReadFullyAsync(buffer, ct).ConfigureAwait(false);
        string etag;
        long size = 0;
        var partCount = 1;
        IReadOnlyDictionary<string, string> metadata;
        if (length < partSize)
        {
            metadata = await completeAsync(ct).ConfigureAwait(false);
            etag = await s3.PutObjectAsync(container, objectName, buffer.AsMemory(0, length), new Dictionary<string, string>(), ct).ConfigureAwait(false);
            size = length;
        }
        else
        {
            var uploadId = await s3.CreateMultipartUploadAsync(container, objectName, new Dictionary<string, string>(), ct).ConfigureAwait(false);
            try
            {
                var parts = new List<string>();
                while (length > 0)
                {
                    parts.Add(await s3.UploadPartAsync(container, objectName, uploadId, parts.Count + 1, buffer.AsMemory(0, length), ct).ConfigureAwait(false));
                    size += length;
                    length = await data.ReadFullyAsync(buffer, ct).ConfigureAwait(false);
                }
                metadata = await completeAsync(ct).ConfigureAwait(false);
                await s3.CompleteMultipartUploadAsync(container, objectName, uploadId, parts, ct).ConfigureAwait(false);
                partCount = parts.Count;
            }
            catch
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await s3.AbortMultipartUploadAsync(container, objectName, uploadId, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    logger.LogWarning("Multipart upload {UploadId} of {Bucket}/{Object} could not be aborted: {Error}", uploadId, container, objectName, e.Message);
                }
                throw;
            }
            etag = (await s3.HeadObjectAsync(container, objectName, ct).ConfigureAwait(false))?.GetValueOrDefault("etag")
                ?? throw new IOException($"{container}/{objectName} is missing right after it was stored");
        }
        logger.LogInformation("Stored {Bucket}/{Object}: {Bytes} bytes in {Parts} part(s)", container, objectName, size, partCount);
        await s3.PutObjectAsync(container, objectName + BackupMetaFile.Suffix, System.Text.Encoding.UTF8.GetBytes(BackupMetaFile.Serialize(etag, size, metadata)),
            new Dictionary<string, string>(), ct).ConfigureAwait(false);
        return new StoredBackup(Location(container, objectName), etag, size);
    }


    private static string Location(string bucket, string objectName) => $"s3://{bucket}/{objectName}";

    public async Task<BackupObject> StatAsync(string location, CancellationToken ct)
    {
        var (bucket, key) = Parse(location);
        if (await s3.HeadObjectAsync(bucket, key + BackupMetaFile.Suffix, ct).ConfigureAwait(false) is null) throw new FileNotFoundException($"no backup at {location}");
        var (body, _) = await s3.GetObjectAsync(bucket, key + BackupMetaFile.Suffix, ct).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            return BackupMetaFile.Parse(location, await System.Text.Json.Nodes.JsonNode.ParseAsync(body, cancellationToken: ct).ConfigureAwait(false));
        }
    }

    public async Task<Stream> OpenReadAsync(string location, string expectedChecksum, CancellationToken ct)
    {
        var (bucket, key) = Parse(location);
        var (body, headers) = await s3.GetObjectAsync(bucket, key, ct).ConfigureAwait(false);
        if (!string.Equals(headers.GetValueOrDefault("etag"), expectedChecksum, StringComparison.OrdinalIgnoreCase))
        {
            await body.DisposeAsync().ConfigureAwait(false);
            throw new InvalidDataException($"checksum mismatch for {location}: expected {expectedChecksum}, the store has {headers.GetValueOrDefault("etag")}");
        }
        return body;
    }

    public async Task DeleteAsync(string location, CancellationToken ct)
    {
        var (bucket, key) = Parse(location);
        await s3.DeleteObjectAsync(bucket, key + BackupMetaFile.Suffix, ct).ConfigureAwait(false);
        await s3.DeleteObjectAsync(bucket, key, ct).ConfigureAwait(false);
    }

    /// <summary><c>s3://bucket/object</c>, nothing else.</summary>
    public static (string Bucket, string Key) Parse(string location)
    {
        if (!location.StartsWith("s3://", StringComparison.Ordinal))
            throw new BackupLocationException($"'{location}' is not an s3:// location");
        var parts = location["s3://".Length..].Split('/');
        if (parts.Length != 2) throw new BackupLocationException($"'{location}' is not s3://<bucket>/<object>");
        Validate(parts[0], parts[1]);
        return (parts[0], parts[1]);
    }

    private static void Validate(string bucket, string key)
    {
        if (bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
            throw new BackupLocationException($"'{bucket}' is not a valid bucket name");
        if (key.Length == 0 || key is "." or ".." || key.Contains('/') || key.Any(char.IsControl) || key.Contains("%", StringComparison.Ordinal))
            throw new BackupLocationException($"'{key}' is not a valid backup object name");
    }
}
