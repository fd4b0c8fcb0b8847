using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.TaskManager.Replication;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>Runs <see cref="ReplicationFlows"/> (the guest sequences) over the controller's state.</summary>
internal static class Replication
{
    public static async Task<ReplicationFlows> FlowsAsync(FlowEnvironment env, string versionId, CancellationToken ct)
    {
        var (_, version) = await env.VersionAsync(versionId, ct).ConfigureAwait(false);
        var configs = ReplicationConfigs.Render(env.Settings.TemplatesDir, version.Manager);
        return new ReplicationFlows(env.Reports, configs, env.Loggers.CreateLogger<ReplicationFlows>()) { PrepareTimeout = env.Settings.UsageTimeout };
    }

    public static IReadOnlyList<string> Ids(JsonNode? ids) => (ids as JsonArray ?? []).Select(i => i!.GetValue<string>()).ToList();
}

/// <summary>
/// New replicas of a source (<c>create --replica_of SRC --replica_count N</c>): a server per replica, then the source's
/// snapshot (a backup and a replication user) and every replica's prepare from it, until each replicates. Payload:
/// <c>replica_ids</c>, <c>snapshot_backup_id</c>; the task's instance is the source. Not resumable: a restart in the middle
/// fails the replicas cleanly (ERROR with the reason; delete them and ask again).
/// </summary>
public sealed class CreateReplicasFlow : IInstanceFlow
{
    public string Kind => "create_replicas";
    public IReadOnlyList<string> Steps { get; } = ["allocate", "replicate"];
    public bool Resumable => false;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var source = await run.InstanceAsync(ct).ConfigureAwait(false);
        var replicaIds = Replication.Ids(run.Payload["replica_ids"]);
        var (datastore, version) = await env.VersionAsync(source.DatastoreVersionId, ct).ConfigureAwait(false);
        var flows = await Replication.FlowsAsync(env, source.DatastoreVersionId, ct).ConfigureAwait(false);

        await run.BeginAsync("allocate", ct).ConfigureAwait(false);
        var newReplicas = new List<NewReplica>();
        foreach (var id in replicaIds)
        {
            var replica = await run.InstanceAsync(ct, id).ConfigureAwait(false);
            var flavor = (await env.Flavors.ListAsync(ct).ConfigureAwait(false)).First(f => f.Id == replica.FlavorId);
            var server = await env.Compute.CreateAsync(new ServerRequest(replica.Id, version.Manager, version.Name, flavor.RamMb, flavor.Vcpus, replica.VolumeSizeGb,
                replica.RpcKey, env.Settings.TransportUrl, env.Settings.ControlExchange, env.Settings.ConductorTopic, env.Settings.GuestConfig, version.ImageId), ct).ConfigureAwait(false);
            await env.Instances.SetComputeAsync(replica.Id, FlowSupport.ToJson(server), ct).ConfigureAwait(false);
            await env.Instances.SetServiceStatusAsync(replica.Id, InstanceServiceStatus.New, ct).ConfigureAwait(false);
            newReplicas.Add(new NewReplica(env.GuestOf(replica), FlowSupport.PrepareArguments(server, version, flavor.RamMb, null, null, null, null)));
        }

        await run.BeginAsync("replicate", ct).ConfigureAwait(false);
        // The replicas boot while the source takes its snapshot: their queues, declared now, hold prepare until they listen.
        foreach (var replica in newReplicas) await replica.Guest.CreateQueuesAsync(ct).ConfigureAwait(false);
        var backupId = run.Payload["snapshot_backup_id"]!.GetValue<string>();
        var context = await run.ContextAsync(FlowSupport.NewRequestId(), "trove.common.notification.DBaaSInstanceCreate", source.ProjectId, objectStore: true, ct)
            .ConfigureAwait(false);
        var report = await flows.CreateReplicasAsync(env.GuestOf(source),
            new SnapshotRequest(backupId, source.Id, datastore.Name, version.Name, context, source.ProjectId), newReplicas, ct).ConfigureAwait(false);
        run.Logger.LogInformation("Replicas of {Source} created: {Report}", source.Id, report);
        foreach (var id in replicaIds) await env.Instances.SetTaskStatusAsync(id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public async Task FailAsync(FlowRun run, Exception error, CancellationToken ct)
    {
        foreach (var id in Replication.Ids(run.Payload["replica_ids"]))
            await run.Env.Instances.SetTaskStatusAsync(id, InstanceTaskStatus.BuildError, ct, $"replica creation failed at {run.Step}: {error.Message}").ConfigureAwait(false);
        if (run.Payload["snapshot_backup_id"]?.GetValue<string>() is { } backupId
            && await run.Env.Backups.GetAsync(backupId, null, ct).ConfigureAwait(false) is { } backup && BackupState.IsRunning(backup.State))
            await run.Env.Backups.SetStateAsync(backupId, BackupState.Failed, error.Message, ct).ConfigureAwait(false);
    }
}

/// <summary>
/// promote-to-replica-source: a switchover to the replica the task names; the old source and the other replicas follow
/// it. If the candidate cannot catch up, the old source stays the source and nothing else changes. Not resumable.
/// </summary>
public sealed class PromoteFlow : IInstanceFlow
{
    public string Kind => "promote";
    public IReadOnlyList<string> Steps { get; } = ["switchover"];
    public bool Resumable => false;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var candidate = await run.InstanceAsync(ct).ConfigureAwait(false);
        var oldSource = await run.InstanceAsync(ct, candidate.ReplicaOf ?? throw new InvalidOperationException($"{candidate.Id} is not a replica")).ConfigureAwait(false);
        var others = (await env.Instances.ReplicasOfAsync(oldSource.Id, ct).ConfigureAwait(false)).Where(r => r.Id != candidate.Id).ToList();
        var flows = await Replication.FlowsAsync(env, candidate.DatastoreVersionId, ct).ConfigureAwait(false);
        await run.BeginAsync("switchover", ct).ConfigureAwait(false);
        await flows.PromoteAsync(env.GuestOf(candidate), env.GuestOf(oldSource), others.Select(env.GuestOf).ToList(), ct).ConfigureAwait(false);
        await env.Instances.SetReplicaOfAsync(candidate.Id, null, ct).ConfigureAwait(false);
        await env.Instances.SetReplicaOfAsync(oldSource.Id, candidate.Id, ct).ConfigureAwait(false);
        foreach (var other in others) await env.Instances.SetReplicaOfAsync(other.Id, candidate.Id, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(candidate.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"promotion failed: {error.Message}");
}

/// <summary>
/// eject-replica-source: the source (the task's instance) is gone or unusable; the most advanced replica becomes the
/// source and the others follow it. The ejected source is no longer part of the set. Not resumable.
/// </summary>
public sealed class EjectSourceFlow : IInstanceFlow
{
    public string Kind => "eject";
    public IReadOnlyList<string> Steps { get; } = ["failover"];
    public bool Resumable => false;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var source = await run.InstanceAsync(ct).ConfigureAwait(false);
        var replicas = await env.Instances.ReplicasOfAsync(source.Id, ct).ConfigureAwait(false);
        var flows = await Replication.FlowsAsync(env, source.DatastoreVersionId, ct).ConfigureAwait(false);
        await run.BeginAsync("failover", ct).ConfigureAwait(false);
        var (newSource, _) = await flows.EjectSourceAsync(replicas.Select(env.GuestOf).ToList(), ct).ConfigureAwait(false);
        await env.Instances.SetReplicaOfAsync(newSource.InstanceId, null, ct).ConfigureAwait(false);
        foreach (var replica in replicas.Where(r => r.Id != newSource.InstanceId))
            await env.Instances.SetReplicaOfAsync(replica.Id, newSource.InstanceId, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(source.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"eject failed: {error.Message}");
}

/// <summary>Detach a replica (<c>detach-replica</c>): it stops replicating and becomes a stand-alone instance; its replication user is dropped on the source.</summary>
public sealed class DetachReplicaFlow : IInstanceFlow
{
    public string Kind => "detach_replica";
    public IReadOnlyList<string> Steps { get; } = ["detach"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var replica = await run.InstanceAsync(ct).ConfigureAwait(false);
        await run.BeginAsync("detach", ct).ConfigureAwait(false);
        if (replica.ReplicaOf is { } sourceId)
        {
            var source = await env.Instances.GetAsync(sourceId, null, ct).ConfigureAwait(false);
            var flows = await Replication.FlowsAsync(env, replica.DatastoreVersionId, ct).ConfigureAwait(false);
            await flows.DetachReplicaAsync(env.GuestOf(replica), source is null ? null : env.GuestOf(source), dropReplicationUser: true, ct).ConfigureAwait(false);
            await env.Instances.SetReplicaOfAsync(replica.Id, null, ct).ConfigureAwait(false);
        }
        await env.Instances.SetTaskStatusAsync(replica.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"detach failed: {error.Message}");
}
