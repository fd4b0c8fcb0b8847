using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.IO;
using Trove.Guest.Agent.ObjectStorage;

namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>
/// Backups in Swift with Trove's layout (guest-contract §6.4): segments <c>&lt;id&gt;_00000000</c>, ... of at most
/// <c>backup_segment_max_size</c>, each streamed with chunked transfer and checked against its MD5; one segment is
/// copied to the object name and deleted, several get a static large object manifest. Metadata goes on the final
/// object as <c>X-Object-Meta-*</c>; the checksum is Swift's ETag of the final object (for an SLO, the MD5 of the
/// segments' MD5 hex strings). A failed save deletes the segments it wrote.
/// </summary>
public sealed class SwiftBackupStorage(SwiftClient swift, long segmentMaxSize, ILogger logger) : IBackupStorage
{
    public async Task<StoredBackup> SaveAsync(string container, string objectName, Stream data,
        Func<CancellationToken, Task<IReadOnlyDictionary<string, string>>> completeAsync, CancellationToken ct)
    {
        ValidateName(container);
        ValidateName(objectName);
        await swift.EnsureContainerAsync(container, ct).ConfigureAwait(false);
        var prefix = objectName.Split('.')[0];
        var segments = new List<(string Name, string Md5, long Size)>();
        try
        {
            var source = new LookaheadStream(data);
            do
            {
                var name = $"{prefix}_{segments.Count:D8}";
                var segment = new SegmentStream(source, segmentMaxSize);
                var etag = await swift.PutStreamAsync(container, name, segment, new Dictionary<string, string>(), ct).ConfigureAwait(false);
                var md5 = segment.Md5Hex();
                segments.Add((name, md5, segment.Count));
                if (!string.Equals(etag, md5, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"Swift stored segment {name} with ETag {etag}, but we sent MD5 {md5}");
            }
            while (!await source.AtEndAsync(ct).ConfigureAwait(false));

            var metadata = await completeAsync(ct).ConfigureAwait(false);
            var headers = metadata.ToDictionary(kv => "X-Object-Meta-" + kv.Key.Replace('_', '-'), kv => kv.Value);
            string checksum;
            if (segments.Count == 1)
            {
                headers["X-Copy-From"] = $"{container}/{segments[0].Name}";
                await swift.PutAsync(container, objectName, null, "", headers, ct).ConfigureAwait(false);
                await swift.DeleteObjectAsync(container, segments[0].Name, ct).ConfigureAwait(false);
                checksum = segments[0].Md5;
            }
            else
            {
                var manifest = new JsonArray(segments.Select(s => (JsonNode)new JsonObject
                {
                    ["path"] = $"{container}/{s.Name}", ["etag"] = s.Md5, ["size_bytes"] = s.Size,
                }).ToArray());
                await swift.PutAsync(container, objectName, "multipart-manifest=put", manifest.ToJsonString(), headers, ct).ConfigureAwait(false);
                checksum = Convert.ToHexStringLower(MD5.HashData(System.Text.Encoding.ASCII.GetBytes(string.Concat(segments.Select(s => s.Md5)))));
            }
            var stored = await swift.HeadObjectAsync(container, objectName, ct).ConfigureAwait(false);
            var storedEtag = stored?.GetValueOrDefault("etag");
            if (!string.Equals(storedEtag, checksum, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"Swift reports ETag {storedEtag ?? "(none)"} for {container}/{objectName}, expected {checksum}");
            return new StoredBackup(new Uri(swift.StorageUrl, $"{Uri.EscapeDataString(container)}/{Uri.EscapeDataString(objectName)}").AbsoluteUri,
                checksum, segments.Sum(s => s.Size));
        }
        catch
        {
            await CleanUpAsync(container, segments.Select(s => s.Name).Append($"{prefix}_{segments.Count:D8}")).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Best effort, without the caller's (possibly cancelled) token: what cannot be deleted is logged as orphaned.</summary>
    private async Task CleanUpAsync(string container, IEnumerable<string> names)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var name in names)
        {
            try
            {
                await swift.DeleteObjectAsync(container, name, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning("Orphaned backup segment {Container}/{Segment} could not be deleted: {Error}", container, name, e.Message);
            }
        }
    }

    public async Task<BackupObject> StatAsync(string location, CancellationToken ct)
    {
        var (container, name) = Parse(location);
        var headers = await swift.HeadObjectAsync(container, name, ct).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"no backup at {location}");
        var metadata = headers.Where(h => h.Key.StartsWith("x-object-meta-", StringComparison.Ordinal))
            .ToDictionary(h => h.Key["x-object-meta-".Length..].Replace('-', '_'), h => h.Value);
        return new BackupObject(location, headers.GetValueOrDefault("etag") ?? "", metadata);
    }

    public async Task<Stream> OpenReadAsync(string location, string expectedChecksum, CancellationToken ct)
    {
        var (container, name) = Parse(location);
        var (body, headers) = await swift.GetStreamAsync(container, name, ct).ConfigureAwait(false);
        var etag = headers.GetValueOrDefault("etag");
        if (!string.Equals(etag, expectedChecksum, StringComparison.OrdinalIgnoreCase))
        {
            await body.DisposeAsync().ConfigureAwait(false);
            throw new InvalidDataException($"checksum mismatch for {location}: expected {expectedChecksum}, Swift has {etag}");
        }
        return body;
    }

    public async Task DeleteAsync(string location, CancellationToken ct)
    {
        var (container, name) = Parse(location);
        await swift.DeleteObjectAsync(container, name, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Container and object of a location in the caller's own account (guest-contract §6.4: the last two path
    /// elements). Anything else (another account or host, an unknown scheme, traversal, a nested path) is refused.
    /// </summary>
    public (string Container, string Name) Parse(string location)
    {
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new BackupLocationException($"'{location}' is not an http(s) Swift location");
        var account = swift.StorageUrl.AbsoluteUri.TrimEnd('/') + "/";
        if (!uri.AbsoluteUri.StartsWith(account, StringComparison.Ordinal) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new BackupLocationException($"'{location}' is not in this project's object store ({account})");
        var rest = uri.AbsoluteUri[account.Length..].Split('/');
        if (rest.Length != 2) throw new BackupLocationException($"'{location}' is not <container>/<object> in this project's object store");
        var container = Uri.UnescapeDataString(rest[0]);
        var name = Uri.UnescapeDataString(rest[1]);
        ValidateName(container);
        ValidateName(name);
        return (container, name);
    }

    private static void ValidateName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Any(char.IsControl))
            throw new BackupLocationException($"'{name}' is not a valid container or object name");
    }

    /// <summary>One byte of lookahead, so the writer knows whether another segment follows before it starts one.</summary>
    private sealed class LookaheadStream(Stream inner) : ReadOnlyStream
    {
        private readonly byte[] _one = new byte[1];
        private bool _hasPeeked;

        public async ValueTask<bool> AtEndAsync(CancellationToken ct)
        {
            if (_hasPeeked) return false;
            _hasPeeked = await inner.ReadAsync(_one, ct).ConfigureAwait(false) == 1;
            return !_hasPeeked;
        }

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty) return 0;
            if (!_hasPeeked) return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _hasPeeked = false;
            buffer.Span[0] = _one[0];
            return 1;
        }
    }

    /// <summary>At most <c>limit</c> bytes of the source, hashed (MD5) as they go by.</summary>
    private sealed class SegmentStream(Stream source, long limit) : ReadOnlyStream
    {
        private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        private string? _final;

        public long Count { get; private set; }

        public string Md5Hex() => _final ?? Convert.ToHexStringLower(_md5.GetCurrentHash());

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var want = (int)Math.Min(buffer.Length, limit - Count);
            if (want <= 0) return 0;
            var n = await source.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
            _md5.AppendData(buffer.Span[..n]);
            Count += n;
            return n;
        }

        // The HTTP content disposes its stream once sent: keep the digest, and leave the backup stream open.
        protected override void Dispose(bool disposing)
        {
            if (disposing && _final is null)
            {
                _final = Convert.ToHexStringLower(_md5.GetCurrentHash());
                _md5.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
