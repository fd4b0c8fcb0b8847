using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;

namespace Trove.Guest.TaskManager.Guests;

/// <summary>Trove's timeout classes for guest calls (guest-contract §1): low, high and replication snapshot.</summary>
public sealed record GuestTimeouts
{
    public TimeSpan Low { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan High { get; init; } = TimeSpan.FromSeconds(180);
    public TimeSpan Snapshot { get; init; } = TimeSpan.FromSeconds(1800);
}

/// <summary>
/// One guest as the control plane sees it: trove/guestagent/api.py's methods, with Trove's method and argument names,
/// versions and timeout classes, over our RPC client. The flows talk to guests through this type only.
/// </summary>
public sealed class GuestClient(RpcClient rpc, string instanceId, GuestTimeouts? timeouts = null, JsonObject? context = null,
    IRpcSerializer? serializer = null)
{
    private readonly GuestTimeouts _timeouts = timeouts ?? new GuestTimeouts();
    private readonly JsonObject _context = context ?? [];

    public string InstanceId { get; } = instanceId;

    private string Topic => $"guestagent.{InstanceId}";

    private RpcTarget Target(string version = "1.0") => new(Topic, Version: version);

    private Task<JsonNode?> CallAsync(string method, TimeSpan timeout, CancellationToken ct, JsonObject? args = null) =>
        rpc.CallAsync(Target(), method, args, new RpcCallOptions { Timeout = timeout, Context = (JsonObject)_context.DeepClone(), Serializer = serializer }, ct);

    private Task CastAsync(string method, JsonObject? args, JsonObject? context, CancellationToken ct, string version = "1.0") =>
        rpc.CastAsync(Target(version), method, args, context ?? (JsonObject)_context.DeepClone(), serializer, ct);

    /// <summary>
    /// Declares the guest's topic and server queues before it runs (Trove's <c>_create_guest_queue</c>), so that a cast
    /// such as prepare waits in its queue for a guest that is still booting; the guest consumes it the moment it listens.
    /// </summary>
    public Task CreateQueuesAsync(CancellationToken ct) => rpc.DeclareServerQueuesAsync(Topic, InstanceId, ct);

    /// <summary>Deletes the guest's topic and server queues once its server is gone (what they still hold goes with them).</summary>
    public Task DeleteQueuesAsync(CancellationToken ct) => rpc.DeleteServerQueuesAsync(Topic, InstanceId, ct);

    /// <summary>prepare is a cast (version 1.1); the guest reports its end through the conductor.</summary>
    public Task PrepareAsync(JsonObject arguments, JsonObject? context, CancellationToken ct) => CastAsync("prepare", arguments, context, ct, "1.1");

    public async Task<bool> PingAsync(CancellationToken ct) =>
        (await CallAsync("rpc_ping", _timeouts.Low, ct).ConfigureAwait(false)) is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    // Lifecycle and volume (Trove: restart and resize use the high timeout class; usage_timeout covers prepare).
    public Task RestartAsync(CancellationToken ct) => CallAsync("restart", _timeouts.High, ct);

    public Task StopDbAsync(CancellationToken ct) => CallAsync("stop_db", _timeouts.High, ct, new JsonObject { ["do_not_start_on_reboot"] = false });

    /// <summary>
    /// Starts the engine with a new my.cnf. With no <paramref name="configContents"/> but <paramref name="memoryMb"/> (our
    /// extension; Trove guests ignore it), our guest renders its own template for that memory.
    /// </summary>
    public Task StartDbWithConfChangesAsync(string? configContents, int? memoryMb, string? datastoreVersion, CancellationToken ct) =>
        CallAsync("start_db_with_conf_changes", _timeouts.High, ct,
            new JsonObject { ["config_contents"] = configContents, ["memory_mb"] = memoryMb, ["ds_version"] = datastoreVersion });

    public Task MountVolumeAsync(string? devicePath, string? mountPoint, CancellationToken ct) =>
        CallAsync("mount_volume", _timeouts.Low, ct, new JsonObject { ["device_path"] = devicePath, ["mount_point"] = mountPoint });

    public Task UnmountVolumeAsync(string? devicePath, string? mountPoint, CancellationToken ct) =>
        CallAsync("unmount_volume", _timeouts.Low, ct, new JsonObject { ["device_path"] = devicePath, ["mount_point"] = mountPoint });

    public async Task<JsonObject> GetFilesystemStatsAsync(string? path, CancellationToken ct) =>
        await CallAsync("get_filesystem_stats", _timeouts.Low, ct, new JsonObject { ["fs_path"] = path }).ConfigureAwait(false) as JsonObject ?? [];

    public Task ResizeFsAsync(string? devicePath, string? mountPoint, bool online, CancellationToken ct) =>
        CallAsync("resize_fs", _timeouts.High, ct, new JsonObject { ["device_path"] = devicePath, ["mount_point"] = mountPoint, ["online"] = online });

    // Databases and users: creates and deletes are casts that end with notify_end/notify_exc_info, as in Trove.
    public Task CreateDatabasesAsync(JsonArray databases, JsonObject? context, CancellationToken ct) =>
        CastAsync("create_database", new JsonObject { ["databases"] = databases.DeepClone() }, context, ct);

    public Task DeleteDatabaseAsync(JsonObject database, JsonObject? context, CancellationToken ct) =>
        CastAsync("delete_database", new JsonObject { ["database"] = database.DeepClone() }, context, ct);

    /// <summary>A page of databases and the marker of the next page (Trove's <c>[list, next_marker]</c>).</summary>
    public Task<JsonNode?> ListDatabasesAsync(int? limit, string? marker, bool includeMarker, CancellationToken ct) =>
        CallAsync("list_databases", _timeouts.Low, ct, new JsonObject { ["limit"] = limit, ["marker"] = marker, ["include_marker"] = includeMarker });

    public Task CreateUsersAsync(JsonArray users, JsonObject? context, CancellationToken ct) =>
        CastAsync("create_user", new JsonObject { ["users"] = users.DeepClone() }, context, ct);

    public Task DeleteUserAsync(JsonObject user, JsonObject? context, CancellationToken ct) =>
        CastAsync("delete_user", new JsonObject { ["user"] = user.DeepClone() }, context, ct);

    public Task<JsonNode?> ListUsersAsync(int? limit, string? marker, bool includeMarker, CancellationToken ct) =>
        CallAsync("list_users", _timeouts.High, ct, new JsonObject { ["limit"] = limit, ["marker"] = marker, ["include_marker"] = includeMarker });

    public Task<JsonNode?> GetUserAsync(string username, string? hostname, CancellationToken ct) =>
        CallAsync("get_user", _timeouts.Low, ct, new JsonObject { ["username"] = username, ["hostname"] = hostname });

    public Task ChangePasswordsAsync(JsonArray users, CancellationToken ct) =>
        CallAsync("change_passwords", _timeouts.Low, ct, new JsonObject { ["users"] = users.DeepClone() });

    public Task UpdateAttributesAsync(string username, string? hostname, JsonObject attributes, CancellationToken ct) =>
        CallAsync("update_attributes", _timeouts.Low, ct, new JsonObject { ["username"] = username, ["hostname"] = hostname, ["user_attrs"] = attributes.DeepClone() });

    public Task GrantAccessAsync(string username, string? hostname, JsonArray databases, CancellationToken ct) =>
        CallAsync("grant_access", _timeouts.Low, ct, new JsonObject { ["username"] = username, ["hostname"] = hostname, ["databases"] = databases.DeepClone() });

    public Task RevokeAccessAsync(string username, string? hostname, string database, CancellationToken ct) =>
        CallAsync("revoke_access", _timeouts.Low, ct, new JsonObject { ["username"] = username, ["hostname"] = hostname, ["database"] = database });

    public Task<JsonNode?> ListAccessAsync(string username, string? hostname, CancellationToken ct) =>
        CallAsync("list_access", _timeouts.Low, ct, new JsonObject { ["username"] = username, ["hostname"] = hostname });

    // Root.
    public Task<JsonNode?> EnableRootAsync(string? password, CancellationToken ct) => password is null
        ? CallAsync("enable_root", _timeouts.High, ct)
        : CallAsync("enable_root_with_password", _timeouts.High, ct, new JsonObject { ["root_password"] = password });

    public Task DisableRootAsync(CancellationToken ct) => CallAsync("disable_root", _timeouts.Low, ct);

    public async Task<bool> IsRootEnabledAsync(CancellationToken ct) =>
        (await CallAsync("is_root_enabled", _timeouts.Low, ct).ConfigureAwait(false)) is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    // Backups and configuration.
    /// <summary>create_backup is a cast; the guest reports BUILDING, SAVING and COMPLETED/FAILED with update_backup.</summary>
    public Task CreateBackupAsync(JsonObject backupInfo, JsonObject? context, CancellationToken ct) =>
        CastAsync("create_backup", new JsonObject { ["backup_info"] = backupInfo.DeepClone() }, context, ct);

    public Task UpdateOverridesAsync(JsonObject overrides, bool remove, CancellationToken ct) =>
        CallAsync("update_overrides", _timeouts.High, ct, new JsonObject { ["overrides"] = overrides.DeepClone(), ["remove"] = remove });

    public Task ApplyOverridesAsync(JsonObject overrides, CancellationToken ct) =>
        CallAsync("apply_overrides", _timeouts.High, ct, new JsonObject { ["overrides"] = overrides.DeepClone() });

    public async Task<bool> BackupRequiredForReplicationAsync(CancellationToken ct) =>
        (await CallAsync("backup_required_for_replication", _timeouts.Low, ct).ConfigureAwait(false)) is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    public async Task<JsonObject> GetReplicationSnapshotAsync(JsonObject snapshotInfo, string sourceConfig, JsonObject context, CancellationToken ct) =>
        await rpc.CallAsync(Target(), "get_replication_snapshot",
            new JsonObject { ["snapshot_info"] = snapshotInfo.DeepClone(), ["replica_source_config"] = sourceConfig },
            new RpcCallOptions { Timeout = _timeouts.Snapshot, Context = (JsonObject)context.DeepClone(), Serializer = serializer }, ct).ConfigureAwait(false) as JsonObject
        ?? throw new InvalidDataException($"{InstanceId}: get_replication_snapshot returned no snapshot");

    public Task AttachReplicaAsync(JsonObject replicaInfo, string replicaConfig, bool restart, CancellationToken ct) =>
        CallAsync("attach_replica", _timeouts.High, ct,
            new JsonObject { ["replica_info"] = replicaInfo.DeepClone(), ["slave_config"] = replicaConfig, ["restart"] = restart });

    /// <summary>Returns the replication user the replica used (for cleanup_source_on_replica_detach).</summary>
    public async Task<string?> DetachReplicaAsync(bool forFailover, CancellationToken ct) =>
        (await CallAsync("detach_replica", _timeouts.High, ct, new JsonObject { ["for_failover"] = forFailover }).ConfigureAwait(false))?["replication_user"]?.GetValue<string>();

    public async Task<JsonObject> GetReplicaContextAsync(CancellationToken ct) =>
        await CallAsync("get_replica_context", _timeouts.High, ct).ConfigureAwait(false) as JsonObject
        ?? throw new InvalidDataException($"{InstanceId}: get_replica_context returned nothing");

    public Task MakeReadOnlyAsync(bool readOnly, CancellationToken ct) =>
        CallAsync("make_read_only", _timeouts.High, ct, new JsonObject { ["read_only"] = readOnly });

    public Task EnableAsMasterAsync(string sourceConfig, CancellationToken ct) =>
        CallAsync("enable_as_master", _timeouts.High, ct, new JsonObject { ["replica_source_config"] = sourceConfig });

    public Task DemoteReplicationMasterAsync(CancellationToken ct) => CallAsync("demote_replication_master", _timeouts.High, ct);

    /// <summary>The source this replica follows and how far it got (sequence number of the source's last transaction applied).</summary>
    public async Task<LastTransaction> GetLastTxnAsync(CancellationToken ct)
    {
        var reply = await CallAsync("get_last_txn", _timeouts.High, ct).ConfigureAwait(false) as JsonArray;
        if (reply is not { Count: 2 }) throw new InvalidDataException($"{InstanceId}: get_last_txn returned {reply?.ToJsonString() ?? "nothing"}");
        var source = reply[0] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            var other => other.ToJsonString(),
        };
        var sequence = reply[1] is JsonValue s && s.TryGetValue<long>(out var n) ? n
            : long.Parse(reply[1]?.ToString() ?? "0", CultureInfo.InvariantCulture);
        return new LastTransaction(InstanceId, source, sequence);
    }

    public async Task<string> GetLatestTxnIdAsync(CancellationToken ct) =>
        (await CallAsync("get_latest_txn_id", _timeouts.High, ct).ConfigureAwait(false))?.GetValue<string>() ?? "";

    public Task WaitForTxnAsync(string txn, CancellationToken ct) =>
        CallAsync("wait_for_txn", _timeouts.High, ct, new JsonObject { ["txn"] = txn });

    public Task CleanupSourceOnReplicaDetachAsync(string replicationUser, CancellationToken ct) =>
        CallAsync("cleanup_source_on_replica_detach", _timeouts.High, ct,
            new JsonObject { ["replica_info"] = new JsonObject { ["replication_user"] = replicationUser } });

    public override string ToString() => InstanceId;
}

/// <summary>get_last_txn's answer: which source a replica follows, and its position in that source's history.</summary>
public sealed record LastTransaction(string InstanceId, string? SourceId, long Sequence);
