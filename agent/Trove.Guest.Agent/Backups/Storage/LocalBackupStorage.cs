using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>
/// Backups in a local directory (the embedded default without a cloud, e.g. a mounted NFS share):
/// <c>&lt;root&gt;/&lt;container&gt;/&lt;object&gt;</c> plus <c>&lt;object&gt;.meta.json</c> with the checksum (MD5, as
/// Swift's ETag) and the metadata. Written as <c>.partial</c> and renamed only once complete, so a crash never leaves
/// something that looks like a backup. Locations are <c>file://</c> URLs under the root.
/// </summary>
public sealed class LocalBackupStorage(string root) : IBackupStorage
{
    private readonly string _root = Path.GetFullPath(root);

    public async Task<StoredBackup> SaveAsync(string container, string objectName, Stream data,
        Func<CancellationToken, Task<IReadOnlyDictionary<string, string>>> completeAsync, CancellationToken ct)
    {
        var path = PathFor(container, objectName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial";
        try
        {
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            long size = 0;
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = await data.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    md5.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    size += n;
                }
                await file.FlushAsync(ct).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            var checksum = Convert.ToHexStringLower(md5.GetHashAndReset());
            var metadata = await completeAsync(ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(path + BackupMetaFile.Suffix, BackupMetaFile.Serialize(checksum, size, metadata), ct).ConfigureAwait(false);
            File.Move(partial, path, overwrite: true);
            return new StoredBackup(new Uri(path).AbsoluteUri, checksum, size);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    public async Task<BackupObject> StatAsync(string location, CancellationToken ct)
    {
        var path = Resolve(location);
        if (!File.Exists(path) || !File.Exists(path + BackupMetaFile.Suffix)) throw new FileNotFoundException($"no backup at {location}");
        return BackupMetaFile.Parse(location, JsonNode.Parse(await File.ReadAllTextAsync(path + BackupMetaFile.Suffix, ct).ConfigureAwait(false)));
    }

    public async Task<Stream> OpenReadAsync(string location, string expectedChecksum, CancellationToken ct)
    {
        var stat = await StatAsync(location, ct).ConfigureAwait(false);
        if (!string.Equals(stat.Checksum, expectedChecksum, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"checksum mismatch for {location}: expected {expectedChecksum}, stored {stat.Checksum}");
        var file = new FileStream(Resolve(location), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return new Md5VerifyingStream(file, expectedChecksum, location);
    }

    public Task DeleteAsync(string location, CancellationToken ct)
    {
        var path = Resolve(location);
        File.Delete(path);
        File.Delete(path + BackupMetaFile.Suffix);
        return Task.CompletedTask;
    }

    private string PathFor(string container, string objectName)
    {
        foreach (var part in new[] { container, objectName })
        {
            if (part.Length == 0 || part is "." or ".." || part.Contains('/') || part.Contains('\0'))
                throw new BackupLocationException($"'{part}' is not a valid container or object name");
        }
        return Path.Combine(_root, container, objectName);
    }

    /// <summary>A <c>file://</c> location under the root, exactly root/container/object, nothing else.</summary>
    private string Resolve(string location)
    {
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeFile)
            throw new BackupLocationException($"'{location}' is not a file:// location of the local backup store");
        var raw = Uri.UnescapeDataString(uri.AbsolutePath);
        if (raw.Split('/').Any(p => p is "." or "..") || location.Contains("%2e%2e", StringComparison.OrdinalIgnoreCase))
            throw new BackupLocationException($"'{location}' contains path traversal");
        var full = Path.GetFullPath(raw);
        var relative = Path.GetRelativePath(_root, full);
        var parts = relative.Split('/');
        if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) || parts.Length != 2)
            throw new BackupLocationException($"'{location}' is outside the backup store {_root}");
        return PathFor(parts[0], parts[1]);
    }


    /// <summary>Hashes what is read and fails at the end when the bytes do not match the recorded checksum.</summary>
    private sealed class Md5VerifyingStream(Stream inner, string expected, string location) : ReadOnlyStream
    {
        private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);

        public override int Read(Span<byte> buffer) => Check(inner.Read(buffer), buffer);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Check(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false), buffer.Span);

        private int Check(int n, ReadOnlySpan<byte> buffer)
        {
            if (n > 0)
            {
                _md5.AppendData(buffer[..n]);
                return n;
            }
            var actual = Convert.ToHexStringLower(_md5.GetCurrentHash());
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{location} is corrupt: its MD5 is {actual}, {expected} was recorded");
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _md5.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
