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
        _ => new SwiftBackupStorage(SwiftClient.FromContext(Http, context, options), options.Backup.SegmentMaxSize, logger),
    };

    /// <summary>The store a location belongs to: <c>file://</c> is the local store, anything else Swift.</summary>
    public static IBackupStorage ForLocation(string location, AgentOptions options, JsonObject context, ILogger logger) =>
        location.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? new LocalBackupStorage(options.Backup.LocalDirectory)
            : new SwiftBackupStorage(SwiftClient.FromContext(Http, context, options), options.Backup.SegmentMaxSize, logger);
}
