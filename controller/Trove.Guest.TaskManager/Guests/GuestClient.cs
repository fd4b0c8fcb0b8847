using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Client;

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
public sealed class GuestClient(RpcClient rpc, string instanceId, GuestTimeouts? timeouts = null, JsonObject? context = null)
{
    private readonly GuestTimeouts _timeouts = timeouts ?? new GuestTimeouts();
    private readonly JsonObject _context = context ?? [];

    public string InstanceId { get; } = instanceId;

    private RpcTarget Target(string version = "1.0") => new($"guestagent.{InstanceId}", Version: version);

    private Task<JsonNode?> CallAsync(string method, TimeSpan timeout, CancellationToken ct, JsonObject? args = null) =>
        rpc.CallAsync(Target(), method, args, new RpcCallOptions { Timeout = timeout, Context = (JsonObject)_context.DeepClone() }, ct);

    /// <summary>prepare is a cast (version 1.1); the guest reports its end through the conductor.</summary>
    public Task PrepareAsync(JsonObject arguments, JsonObject? context, CancellationToken ct) =>
        rpc.CastAsync(Target("1.1"), "prepare", arguments, context ?? (JsonObject)_context.DeepClone(), ct);

    public async Task<bool> BackupRequiredForReplicationAsync(CancellationToken ct) =>
        (await CallAsync("backup_required_for_replication", _timeouts.Low, ct).ConfigureAwait(false)) is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    public async Task<JsonObject> GetReplicationSnapshotAsync(JsonObject snapshotInfo, string sourceConfig, JsonObject context, CancellationToken ct) =>
        await rpc.CallAsync(Target(), "get_replication_snapshot",
            new JsonObject { ["snapshot_info"] = snapshotInfo.DeepClone(), ["replica_source_config"] = sourceConfig },
            new RpcCallOptions { Timeout = _timeouts.Snapshot, Context = (JsonObject)context.DeepClone() }, ct).ConfigureAwait(false) as JsonObject
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
