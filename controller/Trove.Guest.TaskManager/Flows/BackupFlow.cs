using System.Text.Json.Nodes;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Backup: the guest's <c>create_backup</c> (a cast; it streams to the object store and reports BUILDING, SAVING, then
/// COMPLETED or FAILED through the conductor), and the wait for that report. Payload: <c>backup_id</c>, <c>request_id</c>.
/// Resumable: a backup the guest already began is not asked for again; its reports reach whichever controller runs.
/// </summary>
public sealed class BackupFlow : IInstanceFlow
{
    public string Kind => "backup";
    public IReadOnlyList<string> Steps { get; } = ["create_backup", "wait_backup"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var backupId = run.Payload["backup_id"]!.GetValue<string>();
        var requestId = run.Payload["request_id"]?.GetValue<string>() ?? FlowSupport.NewRequestId();
        run.Payload["request_id"] = requestId;
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var backup = await env.Backups.GetAsync(backupId, null, ct).ConfigureAwait(false) ?? throw new InvalidOperationException($"backup {backupId} no longer exists");
        if (run.Pending("create_backup"))
        {
            var sentBefore = run.Step == "create_backup" && backup.State != BackupState.New;
            await run.BeginAsync("create_backup", ct).ConfigureAwait(false);
            if (!sentBefore)
            {
                var (datastore, version) = await env.VersionAsync(instance.DatastoreVersionId, ct).ConfigureAwait(false);
                var info = new JsonObject
                {
                    ["id"] = backup.Id, ["instance_id"] = instance.Id, ["name"] = backup.Name, ["description"] = backup.Description,
                    ["datastore"] = datastore.Name, ["datastore_version"] = version.Name,
                };
                if (backup.ParentId is { } parentId)
                {
                    var parent = await env.Backups.GetAsync(parentId, null, ct).ConfigureAwait(false);
                    if (parent is not { State: BackupState.Completed, Location: not null })
                        throw new InvalidOperationException($"the parent backup {parentId} is not complete");
                    info["parent"] = new JsonObject { ["location"] = parent.Location, ["checksum"] = parent.Checksum };
                }
                var context = await run.ContextAsync(requestId, "trove.common.notification.DBaaSBackupCreate", instance.ProjectId, objectStore: true, ct,
                    new JsonObject { ["backup_id"] = backup.Id }).ConfigureAwait(false);
                await env.GuestOf(instance).CreateBackupAsync(info, context, ct).ConfigureAwait(false);
            }
        }
        await run.BeginAsync("wait_backup", ct).ConfigureAwait(false);
        await env.Reports.WaitForBackupAsync(backupId, env.Settings.BackupTimeout, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    /// <summary>A failed backup leaves the instance usable (as in Trove); the backup shows FAILED with the reason.</summary>
    public async Task FailAsync(FlowRun run, Exception error, CancellationToken ct)
    {
        var backupId = run.Payload["backup_id"]?.GetValue<string>();
        if (backupId is not null && await run.Env.Backups.GetAsync(backupId, null, ct).ConfigureAwait(false) is { } backup && BackupState.IsRunning(backup.State))
            await run.Env.Backups.SetStateAsync(backupId, BackupState.Failed, error.Message, ct).ConfigureAwait(false);
        await run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }
}
