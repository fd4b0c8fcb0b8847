using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Backups;

/// <summary>A parent backup an incremental builds on: where it is and its checksum.</summary>
public sealed record ParentBackup(string Location, string Checksum);

/// <summary><c>create_backup</c>'s <c>backup_info</c> (guest-contract §1.2, BackupInfo).</summary>
public sealed record BackupRequest(string Id, ParentBackup? Parent, string? Datastore, string? DatastoreVersion, string? SwiftContainer)
{
    public bool IsIncremental => Parent is not null;
    public string BackupType => IsIncremental ? "incremental" : "full";

    public static BackupRequest FromJson(JsonNode? node)
    {
        var info = node as JsonObject ?? throw Invalid("backup_info must be an object");
        var id = info["id"]?.AsString() is { Length: > 0 } s ? BackupIds.Validate(s) : throw Invalid("backup_info has no id");
        ParentBackup? parent = null;
        if (info["parent"] is JsonObject p)
        {
            parent = new ParentBackup(
                p["location"]?.AsString() ?? throw Invalid("backup_info.parent has no location"),
                p["checksum"]?.AsString() ?? throw Invalid("backup_info.parent has no checksum"));
        }
        return new BackupRequest(id, parent, info["datastore"]?.AsString(), info["datastore_version"]?.AsString(), info["swift_container"]?.AsString());
    }

    private static RpcFailureException Invalid(string message) => new("ValueError", "builtins", message);
}

/// <summary><c>prepare</c>'s <c>backup_info</c> (guest-contract §1.2, RestoreInfo): the backup to restore.</summary>
public sealed record RestoreRequest(string Id, string Location, string? Checksum)
{
    public static RestoreRequest? FromJson(JsonNode? node)
    {
        if (node is not JsonObject info) return null;
        var location = info["location"]?.AsString() ?? throw new RpcFailureException("ValueError", "builtins", "backup_info has no location");
        return new RestoreRequest(info["id"]?.AsString() ?? "", location, info["checksum"]?.AsString());
    }
}

internal static class BackupIds
{
    /// <summary>Backup ids become object and file names: letters, digits, '-' and '_' only (Trove's are UUIDs).</summary>
    public static string Validate(string id) =>
        id.Length <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? id
            : throw new RpcFailureException("ValueError", "builtins", $"'{id}' is not a valid backup id");
}
