using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.TaskManager.Replication;

/// <summary>What a new replica's prepare carries besides the snapshot: flavor, volume, configuration (Trove's create arguments).</summary>
public sealed record NewReplica(GuestClient Guest, JsonObject PrepareArguments);

/// <summary>The snapshot backup the source takes for new replicas, and the request context its storage needs.</summary>
public sealed record SnapshotRequest(string BackupId, string SourceInstanceId, string Datastore, string DatastoreVersion, JsonObject Context,
    string? TenantId = null, string? Name = null);

/// <summary>A step of a flow and how long it took.</summary>
public sealed record FlowStep(string Name, TimeSpan Elapsed);

/// <summary>A flow's steps in order; the elapsed times are what the benchmarks quote.</summary>
public sealed class FlowReport
{
    private readonly List<FlowStep> _steps = [];
    private readonly Stopwatch _total = Stopwatch.StartNew();

    public IReadOnlyList<FlowStep> Steps => _steps;
    public TimeSpan Total => _total.Elapsed;

    internal void Add(string name, TimeSpan elapsed) => _steps.Add(new FlowStep(name, elapsed));

    public override string ToString() =>
        string.Join(", ", _steps.Select(s => $"{s.Name} {s.Elapsed.TotalMilliseconds:0} ms")) + $"; total {Total.TotalMilliseconds:0} ms";
}

/// <summary>A flow stopped at a step; the message names the step and the guest's error.</summary>
public sealed class ReplicationFlowException(string step, string message, Exception? inner = null)
    : Exception($"{step}: {message}", inner)
{
    public string Step { get; } = step;
}

/// <summary>
/// Trove's replication sequences (guest-contract §7.3), driving guests only through their RPC API: create replicas
/// from a source's snapshot, promote a replica to source (switchover), eject a dead source (failover), detach a
/// replica. Each call is one sequence; the caller (the controller's task worker) owns instance state and locking.
/// </summary>
public sealed class ReplicationFlows(IGuestReports reports, ReplicationConfigs configs, ILogger<ReplicationFlows> logger)
{
    /// <summary>How long a new replica may take to restore and start replicating (Trove: usage_timeout, 1800 s).</summary>
    public TimeSpan PrepareTimeout { get; init; } = TimeSpan.FromSeconds(1800);

    /// <summary>How long the conductor may take to record the snapshot backup after the guest finished it.</summary>
    public TimeSpan BackupRecordTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Create replicas: the source's <c>backup_required_for_replication</c>, <c>get_replication_snapshot</c> (a backup
    /// and a replication user), then every replica's <c>prepare</c> with the snapshot's backup and the snapshot, in
    /// parallel, until each reports its final status. Any replica that does not come up healthy fails the flow.
    /// </summary>
    public async Task<FlowReport> CreateReplicasAsync(GuestClient source, SnapshotRequest request, IReadOnlyList<NewReplica> replicas, CancellationToken ct)
    {
        var report = new FlowReport();
        if (!await StepAsync(report, "backup_required_for_replication", () => source.BackupRequiredForReplicationAsync(ct)).ConfigureAwait(false))
            throw new ReplicationFlowException("backup_required_for_replication", $"{source} replicates without a backup; this flow seeds replicas from one");
        var snapshotInfo = new JsonObject
        {
            ["id"] = request.BackupId, ["name"] = request.Name ?? $"replication snapshot of {request.SourceInstanceId}", ["description"] = null,
            ["instance_id"] = request.SourceInstanceId, ["parent_id"] = null, ["tenant_id"] = request.TenantId, ["state"] = "NEW",
            ["datastore_version_id"] = null, ["deleted"] = false, ["replica_number"] = 1,
            ["datastore"] = request.Datastore, ["datastore_version"] = request.DatastoreVersion,
        };
        var snapshot = await StepAsync(report, "get_replication_snapshot",
            () => source.GetReplicationSnapshotAsync(snapshotInfo, configs.SourceConfig, request.Context, ct)).ConfigureAwait(false);
        var backup = await StepAsync(report, "snapshot backup recorded",
            () => reports.WaitForBackupAsync(request.BackupId, BackupRecordTimeout, ct)).ConfigureAwait(false);

        snapshot["config"] = configs.ReplicaConfig;
        var backupInfo = new JsonObject
        {
            ["id"] = backup.Id, ["instance_id"] = request.SourceInstanceId, ["location"] = backup.Location,
            ["type"] = backup.BackupType, ["checksum"] = backup.Checksum,
        };
        await StepAsync(report, "prepare replicas", () => Task.WhenAll(replicas.Select(r =>
        {
            var args = (JsonObject)r.PrepareArguments.DeepClone();
            args["backup_info"] = backupInfo.DeepClone();
            args["snapshot"] = snapshot.DeepClone();
            return r.Guest.PrepareAsync(args, request.Context, ct);
        }))).ConfigureAwait(false);
        var statuses = await StepAsync(report, "replicas ready", () => Task.WhenAll(replicas.Select(async r =>
            (r.Guest, Status: await reports.WaitForPrepareEndAsync(r.Guest.InstanceId, PrepareTimeout, ct).ConfigureAwait(false))))).ConfigureAwait(false);
        var failed = statuses.Where(s => s.Status is not ("healthy" or "running" or "active")).ToList();
        if (failed.Count > 0)
            throw new ReplicationFlowException("replicas ready", string.Join("; ", failed.Select(f => $"{f.Guest} ended prepare with '{f.Status}'")));
        logger.LogInformation("Created {Count} replicas of {Source}: {Report}", replicas.Count, source, report);
        return report;
    }

    /// <summary>
    /// Promote a replica to source while the old source runs (switchover, guest-contract §7.3): the old source goes
    /// read-only, the candidate applies everything it wrote, becomes the source, the other replicas and then the old
    /// source follow it. If the candidate cannot catch up, the old source is made writable again and nothing changed.
    /// </summary>
    public async Task<FlowReport> PromoteAsync(GuestClient candidate, GuestClient oldSource, IReadOnlyList<GuestClient> otherReplicas, CancellationToken ct)
    {
        var report = new FlowReport();
        await StepAsync(report, $"{oldSource} make_read_only", () => oldSource.MakeReadOnlyAsync(true, ct)).ConfigureAwait(false);
        try
        {
            var txn = await StepAsync(report, $"{oldSource} get_latest_txn_id", () => oldSource.GetLatestTxnIdAsync(ct)).ConfigureAwait(false);
            await StepAsync(report, $"{candidate} wait_for_txn", () => candidate.WaitForTxnAsync(txn, ct)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogError("Promotion of {Candidate} abandoned before any change ({Error}); making {Source} writable again", candidate, e.Message, oldSource);
            try
            {
                await oldSource.MakeReadOnlyAsync(false, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception undo)
            {
                logger.LogError("{Source} stays read-only: {Error}", oldSource, undo.Message);
            }
            throw;
        }
        await BecomeSourceAsync(report, candidate, ct).ConfigureAwait(false);
        await RepointAsync(report, candidate, otherReplicas, ct).ConfigureAwait(false);
        var context = await StepAsync(report, $"{candidate} get_replica_context", () => candidate.GetReplicaContextAsync(ct)).ConfigureAwait(false);
        await StepAsync(report, $"{oldSource} attach_replica", () => oldSource.AttachReplicaAsync(context, configs.ReplicaConfig, restart: false, ct)).ConfigureAwait(false);
        await StepAsync(report, $"{oldSource} demote_replication_master", () => oldSource.DemoteReplicationMasterAsync(ct)).ConfigureAwait(false);
        logger.LogInformation("Promoted {Candidate} (was a replica of {Source}): {Report}", candidate, oldSource, report);
        return report;
    }

    /// <summary>
    /// Eject a source that is gone (failover): every replica says how far it got; all must follow the same source, and
    /// the most advanced one becomes the new source; the others follow it. Returns the new source and the report.
    /// </summary>
    public async Task<(GuestClient NewSource, FlowReport Report)> EjectSourceAsync(IReadOnlyList<GuestClient> replicas, CancellationToken ct)
    {
        if (replicas.Count == 0) throw new ReplicationFlowException("get_last_txn", "there is no replica to promote");
        var report = new FlowReport();
        var positions = await StepAsync(report, "get_last_txn", () => Task.WhenAll(replicas.Select(r => r.GetLastTxnAsync(ct)))).ConfigureAwait(false);
        var sources = positions.Select(p => p.SourceId).Distinct().ToList();
        if (sources.Count != 1 || sources[0] is null)
            throw new ReplicationFlowException("get_last_txn",
                $"the replicas do not follow one source: {string.Join(", ", positions.Select(p => $"{p.InstanceId} follows {p.SourceId ?? "nothing"} at {p.Sequence}"))}");
        var best = positions.OrderByDescending(p => p.Sequence).First();
        var winner = replicas.First(r => r.InstanceId == best.InstanceId);
        logger.LogInformation("Ejecting source {Source}: {Winner} is the most advanced replica ({Positions})", sources[0], winner,
            string.Join(", ", positions.Select(p => $"{p.InstanceId}={p.Sequence}")));
        await BecomeSourceAsync(report, winner, ct).ConfigureAwait(false);
        await RepointAsync(report, winner, replicas.Where(r => r != winner).ToList(), ct).ConfigureAwait(false);
        return (winner, report);
    }

    /// <summary>
    /// Detach a replica (a user's action): it stops replicating and becomes a standalone instance. Replicas created
    /// together share one replication user, so the source drops it only when told this was its last user.
    /// </summary>
    public async Task<FlowReport> DetachReplicaAsync(GuestClient replica, GuestClient? source, bool dropReplicationUser, CancellationToken ct)
    {
        var report = new FlowReport();
        var user = await StepAsync(report, $"{replica} detach_replica", () => replica.DetachReplicaAsync(false, ct)).ConfigureAwait(false);
        if (source is not null && dropReplicationUser && user is not null)
            await StepAsync(report, $"{source} cleanup_source_on_replica_detach", () => source.CleanupSourceOnReplicaDetachAsync(user, ct)).ConfigureAwait(false);
        return report;
    }

    private async Task BecomeSourceAsync(FlowReport report, GuestClient candidate, CancellationToken ct)
    {
        await StepAsync(report, $"{candidate} detach_replica", () => candidate.DetachReplicaAsync(true, ct)).ConfigureAwait(false);
        await StepAsync(report, $"{candidate} enable_as_master", () => candidate.EnableAsMasterAsync(configs.SourceConfig, ct)).ConfigureAwait(false);
        await StepAsync(report, $"{candidate} make_read_only(false)", () => candidate.MakeReadOnlyAsync(false, ct)).ConfigureAwait(false);
    }

    /// <summary>The other replicas follow the new source: each detaches and attaches with a context of its own, in parallel.</summary>
    private Task RepointAsync(FlowReport report, GuestClient newSource, IReadOnlyList<GuestClient> replicas, CancellationToken ct) =>
        StepAsync(report, "replicas follow " + newSource, () => Task.WhenAll(replicas.Select(async r =>
        {
            await r.DetachReplicaAsync(true, ct).ConfigureAwait(false);
            var context = await newSource.GetReplicaContextAsync(ct).ConfigureAwait(false);
            await r.AttachReplicaAsync(context, configs.ReplicaConfig, restart: true, ct).ConfigureAwait(false);
        })));

    private static async Task<T> StepAsync<T>(FlowReport report, string name, Func<Task<T>> step)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ReplicationFlowException and not OperationCanceledException)
        {
            throw new ReplicationFlowException(name, e.Message, e);
        }
        finally
        {
            report.Add(name, watch.Elapsed);
        }
    }

    private static Task StepAsync(FlowReport report, string name, Func<Task> step) =>
        StepAsync<bool>(report, name, async () => { await step().ConfigureAwait(false); return true; });
}
