using Trove.Guest.Agent.Backups.Encryption;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Backups;

/// <summary>
/// How a backup stream is encoded, and the object name that says so (guest-contract §6.2): <c>&lt;id&gt;.xbstream</c>,
/// then <c>.zst</c> or <c>.gz</c>, then <c>.enc</c> (Trove's OpenSSL format) or <c>.gcm</c> (ours). A restore reads the
/// format back from the name, so Trove's <c>&lt;id&gt;.xbstream.gz</c> and <c>.xbstream.gz.enc</c> restore as they are.
/// </summary>
public sealed record BackupFormat(BackupCompressionKind Compression, BackupEncryptionKind Encryption)
{
    public const string StreamSuffix = ".xbstream";

    public static BackupFormat From(BackupOptions options) => new(options.Compression, options.Encryption);

    public string ObjectName(string id) => id + StreamSuffix + CompressionSuffix + Encryption switch
    {
        BackupEncryptionKind.OpenSslCbc => ".enc",
        BackupEncryptionKind.AesGcm => ".gcm",
        _ => "",
    };

    private string CompressionSuffix => Compression == BackupCompressionKind.Zstd ? ".zst" : ".gz";

    /// <summary>The format of a stored backup from its object name (the last element of its location).</summary>
    public static BackupFormat FromObjectName(string name)
    {
        var encryption = BackupEncryptionKind.None;
        if (name.EndsWith(".enc", StringComparison.Ordinal)) (encryption, name) = (BackupEncryptionKind.OpenSslCbc, name[..^4]);
        else if (name.EndsWith(".gcm", StringComparison.Ordinal)) (encryption, name) = (BackupEncryptionKind.AesGcm, name[..^4]);
        BackupCompressionKind compression;
        if (name.EndsWith(".zst", StringComparison.Ordinal)) (compression, name) = (BackupCompressionKind.Zstd, name[..^4]);
        else if (name.EndsWith(".gz", StringComparison.Ordinal)) (compression, name) = (BackupCompressionKind.Gzip, name[..^3]);
        else throw new InvalidDataException($"'{name}' is not a backup this agent can restore (expected .xbstream.zst or .xbstream.gz, optionally .enc/.gcm)");
        if (!name.EndsWith(StreamSuffix, StringComparison.Ordinal))
            throw new InvalidDataException($"'{name}' is not an xbstream backup");
        return new BackupFormat(compression, encryption);
    }

    /// <summary>The compressor (program and arguments), reading the tool's stream on stdin and writing to stdout.</summary>
    public (string Program, string[] Arguments) Compressor(BackupOptions options)
    {
        var threads = options.EffectiveThreads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Compression == BackupCompressionKind.Zstd)
            return (Zstd, ["-q", "-c", $"-{(options.CompressionLevel > 0 ? options.CompressionLevel : 1)}", $"-T{threads}"]);
        var level = $"-{(options.CompressionLevel is > 0 and <= 9 ? options.CompressionLevel : 6)}";
        // pigz writes the same gzip format on every core; plain gzip where it is not installed.
        return Pigz is { } pigz ? (pigz, ["-c", level, "-p", threads]) : (Gzip, ["-c", level]);
    }

    public (string Program, string[] Arguments) Decompressor() => Compression == BackupCompressionKind.Zstd
        ? (Zstd, ["-q", "-d", "-c"])
        : (Pigz ?? Gzip, ["-d", "-c"]);

    private static string Zstd => File.Exists("/usr/bin/zstd") ? "/usr/bin/zstd" : "zstd";
    private static string Gzip => File.Exists("/usr/bin/gzip") ? "/usr/bin/gzip" : "gzip";
    private static string? Pigz => File.Exists("/usr/bin/pigz") ? "/usr/bin/pigz" : null;

    public Stream Encrypt(Stream plain, BackupOptions options) => Encryption switch
    {
        BackupEncryptionKind.OpenSslCbc => OpenSslCbcFormat.Encrypt(plain, options.AesCbcKey ?? throw MissingKey("backup_aes_cbc_key")),
        BackupEncryptionKind.AesGcm => AesGcmChunkFormat.Encrypt(plain, options.EncryptionKey ?? throw MissingKey("backup_encryption_key")),
        _ => plain,
    };

    public async Task<Stream> DecryptAsync(Stream stored, BackupOptions options, CancellationToken ct) => Encryption switch
    {
        BackupEncryptionKind.OpenSslCbc => await OpenSslCbcFormat.DecryptAsync(stored, options.AesCbcKey ?? throw MissingKey("backup_aes_cbc_key"), ct).ConfigureAwait(false),
        BackupEncryptionKind.AesGcm => await AesGcmChunkFormat.DecryptAsync(stored, options.EncryptionKey ?? throw MissingKey("backup_encryption_key"), ct).ConfigureAwait(false),
        _ => stored,
    };

    private static InvalidOperationException MissingKey(string key) =>
        new($"the backup is encrypted and this agent has no {key} configured");
}
