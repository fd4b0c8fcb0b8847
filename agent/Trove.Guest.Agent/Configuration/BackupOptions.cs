namespace Trove.Guest.Agent.Configuration;

/// <summary>Where backups are stored: Trove's Swift layout, or a directory (the embedded default without a cloud).</summary>
public enum BackupStorageKind
{
    Swift,
    Local,
    S3,
}

/// <summary>The compressor a backup stream goes through; its file suffix is part of the object name.</summary>
public enum BackupCompressionKind
{
    /// <summary>zstd (ours, the default): an order of magnitude faster than gzip at a better ratio.</summary>
    Zstd,

    /// <summary>gzip, the format Trove writes and reads (<c>&lt;id&gt;.xbstream.gz</c>).</summary>
    Gzip,
}

/// <summary>How a backup stream is encrypted at rest.</summary>
public enum BackupEncryptionKind
{
    None,

    /// <summary>OpenSSL's <c>enc -aes-256-cbc -md sha512 -pbkdf2 -iter 10000 -salt</c> (Trove's format, suffix <c>.enc</c>).</summary>
    OpenSslCbc,

    /// <summary>Ours: AES-256-GCM in authenticated chunks (suffix <c>.gcm</c>); truncation and tampering are detected.</summary>
    AesGcm,
}

/// <summary>
/// Backup settings: Trove's <c>[DEFAULT]</c> keys (<c>storage_strategy</c>, <c>backup_swift_container</c>,
/// <c>backup_segment_max_size</c>, <c>backup_aes_cbc_key</c>) and ours in <c>[trove_guest]</c> (<c>backup_*</c>).
/// </summary>
public sealed record BackupOptions
{
    public BackupStorageKind Storage { get; init; } = BackupStorageKind.Swift;
    public string SwiftContainer { get; init; } = "database_backups";
    public long SegmentMaxSize { get; init; } = 2L << 30;

    /// <summary><c>backup_aes_cbc_key</c>: the passphrase of Trove-format (<c>.enc</c>) backups, for writing and restoring.</summary>
    public string? AesCbcKey { get; init; }

    /// <summary><c>backup_local_dir</c>: the local store's root (one sub-directory per container).</summary>
    public string LocalDirectory { get; init; } = "/var/lib/trove-guest/backups";

    public BackupCompressionKind Compression { get; init; } = BackupCompressionKind.Zstd;

    /// <summary><c>backup_compression_level</c>: 0 = the compressor's choice for speed (zstd 1, gzip 6 as Trove).</summary>
    public int CompressionLevel { get; init; }

    /// <summary><c>backup_compression_threads</c>: 0 = one per CPU.</summary>
    public int CompressionThreads { get; init; }

    public BackupEncryptionKind Encryption { get; init; } = BackupEncryptionKind.None;

    /// <summary><c>backup_encryption_key</c>: the secret of <c>aes-gcm</c> backups (any length; a key is derived from it).</summary>
    public string? EncryptionKey { get; init; }

    /// <summary><c>backup_parallel</c>: mariabackup/xtrabackup <c>--parallel</c> (I/O threads).</summary>
    public int Parallel { get; init; } = 2;

    /// <summary><c>backup_prepare_memory</c>: <c>--use-memory</c> for restore's prepare step.</summary>
    public string PrepareMemory { get; init; } = "256M";

    /// <summary><c>backup_s3_endpoint</c> / <c>backup_s3_region</c> / <c>backup_s3_bucket</c>: an S3-compatible store (path-style URLs).</summary>
    public string? S3Endpoint { get; init; }
    public string S3Region { get; init; } = "us-east-1";
    public string S3Bucket { get; init; } = "database-backups";
    public string? S3AccessKey { get; init; }
    public string? S3SecretKey { get; init; }

    /// <summary><c>backup_s3_part_size</c>: bytes per multipart part, held in memory one at a time (S3's minimum is 5 MiB).</summary>
    public int S3PartSize { get; init; } = 16 << 20;

    /// <summary>Where a backup goes when the request names no container: the S3 bucket, or Trove's Swift container.</summary>
    public string DefaultContainer => Storage == BackupStorageKind.S3 ? S3Bucket : SwiftContainer;

    public int EffectiveThreads => CompressionThreads > 0 ? CompressionThreads : Environment.ProcessorCount;
}
