namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>A backup as stored: where (the location Trove records), its checksum and its size in bytes.</summary>
public sealed record StoredBackup(string Location, string Checksum, long Size);

/// <summary>What a stored backup says about itself: its checksum and the metadata written with it (Trove's keys).</summary>
public sealed record BackupObject(string Location, string Checksum, IReadOnlyDictionary<string, string> Metadata)
{
    public string? Lsn => Metadata.GetValueOrDefault("lsn");
    public string? ParentLocation => Metadata.GetValueOrDefault("parent_location");
    public string? ParentChecksum => Metadata.GetValueOrDefault("parent_checksum");
}

/// <summary>
/// An object store for backup streams. Implementations stream (never stage a whole backup in memory or on disk),
/// check what they store against a checksum, clean up after a failed save, and refuse locations outside their own
/// container with a <see cref="BackupLocationException"/>.
/// </summary>
public interface IBackupStorage
{
    /// <summary>
    /// Stores the stream as <paramref name="objectName"/> in <paramref name="container"/>. Once the data is stored,
    /// <paramref name="completeAsync"/> gives the metadata (keys as Trove names them: <c>lsn</c>, <c>parent_location</c>...)
    /// or throws when the producer failed: only then does the backup become visible under its name.
    /// </summary>
    Task<StoredBackup> SaveAsync(string container, string objectName, Stream data,
        Func<CancellationToken, Task<IReadOnlyDictionary<string, string>>> completeAsync, CancellationToken ct);

    /// <summary>Checksum and metadata of the backup at <paramref name="location"/>; fails when it does not exist.</summary>
    Task<BackupObject> StatAsync(string location, CancellationToken ct);

    /// <summary>The backup's bytes. The checksum is verified (Swift: the ETag; local: the MD5 at the end of the stream).</summary>
    Task<Stream> OpenReadAsync(string location, string expectedChecksum, CancellationToken ct);

    Task DeleteAsync(string location, CancellationToken ct);
}

/// <summary>A location the store refuses: another account or container, path traversal, an unknown scheme.</summary>
public sealed class BackupLocationException(string message) : Exception(message);
