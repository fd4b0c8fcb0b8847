using System.Text.Json.Nodes;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>What several flows need: the instance and its server, its datastore version, request contexts.</summary>
public static class FlowSupport
{
    public static async Task<InstanceRecord> InstanceAsync(this FlowRun run, CancellationToken ct, string? id = null) =>
        await run.Env.Instances.GetAsync(id ?? run.InstanceId!, null, ct).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"instance {id ?? run.InstanceId} no longer exists");

    public static ServerInfo? Server(InstanceRecord instance) =>
        instance.ComputeJson is { } json ? ServerInfoJson.Deserialize(json) : null;

    public static string ToJson(ServerInfo server) => ServerInfoJson.Serialize(server);

    public static ServerInfo RequireServer(InstanceRecord instance) =>
        Server(instance) ?? throw new InvalidOperationException($"instance {instance.Id} has no server");

    /// <summary>The datastore and version an instance runs.</summary>
    public static async Task<(Datastore Datastore, DatastoreVersion Version)> VersionAsync(this FlowEnvironment env, string versionId, CancellationToken ct)
    {
        foreach (var datastore in await env.Datastores.ListAsync(ct).ConfigureAwait(false))
        {
            if (datastore.Versions.FirstOrDefault(v => v.Id == versionId) is { } version) return (datastore, version);
        }
        throw new InvalidOperationException($"datastore version {versionId} no longer exists");
    }

    /// <summary>
    /// A request context as Trove's services build it for a cast the guest ends with notify_end/notify_exc_info
    /// (guest contract §3.5), with the object store's credentials when the guest will read or write backups.
    /// </summary>
    public static async Task<JsonObject> ContextAsync(this FlowRun run, string requestId, string notificationClass, string? tenantId, bool objectStore,
        CancellationToken ct, JsonObject? extra = null)
    {
        var notification = new JsonObject
        {
            ["request_id"] = requestId, ["server_type"] = "taskmanager", ["tenant_id"] = tenantId, ["instance_id"] = run.InstanceId,
            ["notification_classname"] = notificationClass,
        };
        foreach (var (k, v) in extra ?? []) notification[k] = v?.DeepClone();
        var context = new JsonObject { ["request_id"] = requestId, ["tenant"] = tenantId, ["project_id"] = tenantId, ["trove_notification"] = notification };
        if (objectStore && run.Env.ObjectStore is { } store) await store.AddToAsync(context, ct, run.Env.Compute.GuestUrl).ConfigureAwait(false);
        return context;
    }

    /// <summary>Waits until the instance's guest reports one of <paramref name="statuses"/> in a heartbeat newer than <paramref name="after"/> (Unix ms).</summary>
    public static async Task<InstanceRecord> WaitForStatusAsync(this FlowEnvironment env, string instanceId, IReadOnlyCollection<string> statuses, long after,
        TimeSpan timeout, CancellationToken ct)
    {
        var deadline = env.Clock.GetUtcNow() + timeout;
        InstanceRecord? instance = null;
        while (env.Clock.GetUtcNow() < deadline)
        {
            instance = await env.Instances.GetAsync(instanceId, null, ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"instance {instanceId} no longer exists");
            if (statuses.Contains(instance.ServiceStatus) && instance.LastHeartbeatAt >= after) return instance;
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
        }
        throw new TimeoutException($"{instanceId} did not report {string.Join(" or ", statuses)} within {timeout.TotalSeconds:0} s (last: {instance?.ServiceStatus})");
    }

    public static readonly string[] Active = [InstanceServiceStatus.Healthy, InstanceServiceStatus.Running];

    /// <summary>prepare's arguments (guest contract §1.2) for a new instance of <paramref name="version"/> on <paramref name="server"/>.</summary>
    public static JsonObject PrepareArguments(ServerInfo server, DatastoreVersion version, int memoryMb, JsonArray? databases, JsonArray? users,
        JsonObject? backupInfo, JsonObject? overrides) => new()
    {
        ["packages"] = new JsonArray(),
        ["databases"] = databases?.DeepClone() ?? new JsonArray(),
        ["memory_mb"] = memoryMb,
        ["users"] = users?.DeepClone() ?? new JsonArray(),
        ["device_path"] = server.DevicePath,
        ["mount_point"] = server.MountPoint,
        ["backup_info"] = backupInfo?.DeepClone(),
        // Null: the guest renders its own my.cnf for the flavor from our templates (guest paths differ between drivers).
        ["config_contents"] = null,
        ["root_password"] = null,
        ["overrides"] = overrides?.DeepClone(),
        ["cluster_config"] = null,
        ["snapshot"] = null,
        ["modules"] = null,
        ["ds_version"] = version.Name,
    };

    public static string NewRequestId() => "req-" + Guid.NewGuid();
}

/// <summary>The guest reported that an operation failed (notify_exc_info).</summary>
public sealed class GuestOperationException(string message) : Exception(message);
