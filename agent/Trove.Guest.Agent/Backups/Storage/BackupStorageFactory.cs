using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.ObjectStorage;

namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>The store a request's backups go to: Swift as the requesting user (token and catalog from the context), or the local directory.</summary>
public static class BackupStorageFactory
{
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public static IBackupStorage For(AgentOptions options, JsonObject context, ILogger logger) => options.Backup.Storage switch
    {
        BackupStorageKind.Local => new LocalBackupStorage(options.Backup.LocalDirectory),
        BackupStorageKind.S3 => S3(options, logger),
        _ => new SwiftBackupStorage(SwiftClient.FromContext(Http, context, options), options.Backup.SegmentMaxSize, logger),
    };

    /// <summary>The store a location belongs to: <c>file://</c> the local store, <c>s3://</c> the S3 store, anything else Swift.</summary>
    public static IBackupStorage ForLocation(string location, AgentOptions options, JsonObject context, ILogger logger)
    {
        if (location.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) return new LocalBackupStorage(options.Backup.LocalDirectory);
        if (location.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)) return S3(options, logger);
        return new SwiftBackupStorage(SwiftClient.FromContext(Http, context, options), options.Backup.SegmentMaxSize, logger);
    }

    private static S3BackupStorage S3(AgentOptions options, ILogger logger)
    {
        var b = options.Backup;
        if (b.S3Endpoint is null || b.S3AccessKey is null || b.S3SecretKey is null)
            throw new BackupLocationException("this agent has no S3 store configured (backup_s3_endpoint and its keys)");
        return new S3BackupStorage(new S3Client(Http, new Uri(b.S3Endpoint), b.S3Region, b.S3AccessKey, b.S3SecretKey), b.S3PartSize, logger);
    }
}
