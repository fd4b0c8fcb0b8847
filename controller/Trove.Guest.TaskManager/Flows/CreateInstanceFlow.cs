using System.Text.Json.Nodes;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Create (and restore): a server with its volume, the guest's <c>prepare</c> (with the backup to restore, the databases
/// and users of the request), then wait until the guest reports it healthy and has created the databases and users.
/// Payload: <c>request_id</c>, <c>databases</c>, <c>users</c>, optional <c>backup_id</c> and <c>overrides</c>.
/// Resumable at every step: a server that exists is reused, a prepare the guest already started is not sent again.
/// </summary>
public sealed class CreateInstanceFlow : IInstanceFlow
{
    public string Kind => "create";
    public IReadOnlyList<string> Steps { get; } = ["allocate", "prepare", "wait_healthy", "wait_users"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var (_, version) = await env.VersionAsync(instance.DatastoreVersionId, ct).ConfigureAwait(false);
        var flavor = (await env.Flavors.ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(f => f.Id == instance.FlavorId)
            ?? throw new InvalidOperationException($"flavor {instance.FlavorId} no longer exists");
        var requestId = run.Payload["request_id"]?.GetValue<string>() ?? FlowSupport.NewRequestId();
        run.Payload["request_id"] = requestId;

        if (run.Pending("allocate"))
        {
            await run.BeginAsync("allocate", ct).ConfigureAwait(false);
            var server = FlowSupport.Server(instance);
            server = server is null
                ? await env.Compute.CreateAsync(new ServerRequest(instance.Id, version.Manager, version.Name, flavor.RamMb, flavor.Vcpus, instance.VolumeSizeGb,
                    instance.RpcKey, env.Settings.TransportUrl, env.Settings.ControlExchange, env.Settings.ConductorTopic, env.Settings.GuestConfig, version.ImageId), ct).ConfigureAwait(false)
                : await env.Compute.EnsureRunningAsync(server, ct).ConfigureAwait(false);
            await env.Instances.SetComputeAsync(instance.Id, FlowSupport.ToJson(server), ct).ConfigureAwait(false);
            instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        }

        if (run.Pending("prepare"))
        {
            // A guest that already reported building got the prepare before the restart: never send it twice.
            var alreadyStarted = run.Step == "prepare" && instance.ServiceStatus != InstanceServiceStatus.New;
            await run.BeginAsync("prepare", ct).ConfigureAwait(false);
            if (!alreadyStarted)
            {
                // A cast to a queue that does not exist yet would be lost: declare the guest's queues first, as Trove does, and
                // the guest finds prepare waiting the moment it listens (polling it with rpc_ping cost up to 2 s per boot).
                await env.GuestOf(instance).CreateQueuesAsync(ct).ConfigureAwait(false);
                await env.Instances.SetServiceStatusAsync(instance.Id, InstanceServiceStatus.New, ct).ConfigureAwait(false);
                var backupInfo = await RestoreInfoAsync(env, run.Payload["backup_id"]?.GetValue<string>(), instance.ProjectId, ct).ConfigureAwait(false);
                var arguments = FlowSupport.PrepareArguments(FlowSupport.RequireServer(instance), version, flavor.RamMb, run.Payload["databases"] as JsonArray,
                    run.Payload["users"] as JsonArray, backupInfo, run.Payload["overrides"] as JsonObject);
                var context = await run.ContextAsync(requestId, "trove.common.notification.DBaaSInstanceCreate", instance.ProjectId, backupInfo is not null, ct)
                    .ConfigureAwait(false);
                await env.GuestOf(instance).PrepareAsync(arguments, context, ct).ConfigureAwait(false);
            }
        }

        if (run.Pending("wait_healthy"))
        {
            await run.BeginAsync("wait_healthy", ct).ConfigureAwait(false);
            var status = await env.Reports.WaitForPrepareEndAsync(instance.Id, env.Settings.UsageTimeout, ct).ConfigureAwait(false);
            if (!FlowSupport.Active.Contains(status)) throw new GuestOperationException($"the guest reported '{status}' at the end of prepare");
        }

        if (run.Pending("wait_users"))
        {
            // The guest creates the request's databases and users after its final heartbeat, then notifies the end of prepare.
            await run.BeginAsync("wait_users", ct).ConfigureAwait(false);
            var end = await env.Reports.WaitForNotificationAsync(requestId, TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
            if (end.Failed) throw new GuestOperationException(end.Message ?? "the guest reported a failure");
        }
        run.EndTiming();
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.BuildError, ct, $"create failed at {run.Step}: {error.Message}");

    /// <summary>prepare's backup_info for a restore (guest contract §1.2, RestoreInfo); the backup must be complete.</summary>
    internal static async Task<JsonObject?> RestoreInfoAsync(FlowEnvironment env, string? backupId, string projectId, CancellationToken ct)
    {
        if (backupId is null) return null;
        var backup = await env.Backups.GetAsync(backupId, projectId, ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"backup {backupId} no longer exists");
        if (backup.State != BackupState.Completed || backup.Location is null) throw new InvalidOperationException($"backup {backupId} is {backup.State}, not COMPLETED");
        return new JsonObject
        {
            ["id"] = backup.Id, ["location"] = backup.Location, ["type"] = backup.BackupType ?? "full", ["checksum"] = backup.Checksum,
        };
    }
}
