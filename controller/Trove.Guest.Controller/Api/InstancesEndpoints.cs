using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Configurations;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Configurations;
using Trove.Guest.TaskManager.Flows;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's instance resource: create (new, restored from a backup, or replicas of a source), list, show, delete, the
/// actions (restart, resize flavor or volume, promote, eject) and updates (detach a replica, rename). Every change that
/// takes time is a task flow; the API checks, records the task status (Trove answers 422 when another one runs) and
/// answers at once.
/// </summary>
public static class InstancesEndpoints
{
    /// <summary>Trove's <c>max_accepted_volume_size</c> default, in GB.</summary>
    public const int MaxVolumeSizeGb = 10;

    /// <summary>Trove's <c>max_replicas_per_master</c>.</summary>
    public const int MaxReplicas = 3;

    public static void MapInstances(this WebApplication app)
    {
        app.MapGet("/v1.0/{projectId}/instances", (string projectId, HttpContext http, InstanceStore instances, BackupStore backups, DatastoreStore datastores,
            ApiOptions options, TimeProvider clock) => ListAsync(projectId, http, instances, backups, datastores, options, clock, detail: false));
        app.MapGet("/v1.0/{projectId}/instances/detail", (string projectId, HttpContext http, InstanceStore instances, BackupStore backups, DatastoreStore datastores,
            ApiOptions options, TimeProvider clock) => ListAsync(projectId, http, instances, backups, datastores, options, clock, detail: true));

        app.MapGet("/v1.0/{projectId}/instances/{id}", async (string projectId, string id, HttpContext http, InstanceStore instances, BackupStore backups,
            DatastoreStore datastores, ApiOptions options, TimeProvider clock) =>
        {
            var ct = http.RequestAborted;
            var instance = await instances.GetAsync(id, projectId, ct).ConfigureAwait(false);
            if (instance is null) return NotFound(id);
            var views = new InstanceViews(http, projectId, await datastores.ListAsync(ct).ConfigureAwait(false), options.HeartbeatExpiry, clock.GetUtcNow());
            var running = (await backups.InstancesBackingUpAsync(projectId, ct).ConfigureAwait(false)).Contains(id);
            var replicas = await instances.ReplicasOfAsync(id, ct).ConfigureAwait(false);
            return Results.Json(new Dictionary<string, object> { ["instance"] = views.View(instance, running, replicas, detail: true) });
        });

        app.MapPost("/v1.0/{projectId}/instances", CreateAsync);

        app.MapDelete("/v1.0/{projectId}/instances/{id}", async (string projectId, string id, HttpContext http, InstanceStore instances, [FromServices] TaskWorker worker) =>
        {
            var ct = http.RequestAborted;
            var instance = await instances.GetAsync(id, projectId, ct).ConfigureAwait(false);
            if (instance is null) return NotFound(id);
            if ((await instances.ReplicasOfAsync(id, ct).ConfigureAwait(false)).Count > 0)
                return Faults.BadRequest($"Instance {id} is a replication source with replicas; detach or delete its replicas first.");
            if (!await instances.TryBeginTaskAsync(id, InstanceTaskStatus.Deleting, ct, allowFailedBuild: true).ConfigureAwait(false)) return Busy(instance);
            await worker.StartAsync(id, "delete", [], ct).ConfigureAwait(false);
            return Results.StatusCode(StatusCodes.Status202Accepted);
        });

        app.MapPost("/v1.0/{projectId}/instances/{id}/action", ActionAsync);
        app.MapPut("/v1.0/{projectId}/instances/{id}", UpdateAsync);
        app.MapMethods("/v1.0/{projectId}/instances/{id}", ["PATCH"], UpdateAsync);
    }

    private static async Task<IResult> ListAsync(string projectId, HttpContext http, InstanceStore instances, BackupStore backups, DatastoreStore datastores,
        ApiOptions options, TimeProvider clock, bool detail)
    {
        var ct = http.RequestAborted;
        var all = await instances.ListAsync(projectId, ct).ConfigureAwait(false);
        var views = new InstanceViews(http, projectId, await datastores.ListAsync(ct).ConfigureAwait(false), options.HeartbeatExpiry, clock.GetUtcNow());
        var backingUp = await backups.InstancesBackingUpAsync(projectId, ct).ConfigureAwait(false);
        var replicas = all.Where(i => i.ReplicaOf is not null).ToLookup(i => i.ReplicaOf!);
        return Results.Json(new Dictionary<string, object>
        {
            ["instances"] = all.Select(i => views.View(i, backingUp.Contains(i.Id), replicas[i.Id].ToList(), detail)).ToList(),
        });
    }

    private static async Task<IResult> CreateAsync(string projectId, HttpContext http, InstanceStore instances, BackupStore backups, FlavorStore flavors,
        DatastoreStore datastores, [FromServices] TaskWorker worker, ApiOptions options, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var (body, fault) = await ApiRequest.ReadAsync(http, "instance").ConfigureAwait(false);
        if (body is null) return fault!;

        var name = Str(body, "name");
        if (string.IsNullOrWhiteSpace(name) || name.Length > 255) return Faults.BadRequest("The instance needs a 'name' of 1 to 255 characters.");
        var flavorRef = body["flavorRef"] is JsonValue f ? f.ToString() : null;
        if (string.IsNullOrEmpty(flavorRef)) return Faults.BadRequest("The instance needs a 'flavorRef'.");
        var flavor = (await flavors.ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(x => x.Id == flavorRef);
        if (flavor is null) return Faults.NotFound($"Flavor {flavorRef} could not be found.");
        if (body["volume"]?["size"] is not JsonValue sizeValue || !TryInt(sizeValue, out var size))
            return Faults.BadRequest("The instance needs a 'volume' with an integer 'size' (GB).");
        if (size <= 0) return Faults.BadRequest($"Volume 'size' needs to be a positive integer value, {size} cannot be accepted.");
        if (size > MaxVolumeSizeGb) return Faults.BadRequest($"Volume 'size' cannot exceed maximum of {MaxVolumeSizeGb} GB, {size} cannot be accepted.");

        var databases = body["databases"] as JsonArray ?? [];
        var users = body["users"] as JsonArray ?? [];
        if (InstanceRequestChecks.DatabasesAndUsers(databases, users) is { } invalid) return Faults.BadRequest(invalid);

        // Replicas take the source's datastore version; anything else names one, or takes the only or default one.
        InstanceRecord? source = null;
        var replicaCount = 1;
        if (Str(body, "replica_of") is { } sourceId)
        {
            source = await instances.GetAsync(sourceId, projectId, ct).ConfigureAwait(false);
            if (source is null) return NotFound(sourceId);
            if (source.ReplicaOf is not null) return Faults.BadRequest($"Cannot create a replica of a replica {sourceId}.");
            if (source.TaskStatus != InstanceTaskStatus.None) return Busy(source);
            if (body["replica_count"] is JsonValue countValue && (!TryInt(countValue, out replicaCount) || replicaCount < 1 || replicaCount > MaxReplicas))
                return Faults.BadRequest($"'replica_count' must be between 1 and {MaxReplicas}.");
            var existing = (await instances.ReplicasOfAsync(sourceId, ct).ConfigureAwait(false)).Count;
            if (existing + replicaCount > MaxReplicas)
                return Faults.BadRequest($"Instance {sourceId} has {existing} replicas; at most {MaxReplicas} are allowed (max_replicas_per_master).");
            if (databases.Count > 0 || users.Count > 0) return Faults.BadRequest("A replica gets its databases and users from its source.");
        }
        var (version, versionFault) = source is not null
            ? (await FindVersionAsync(datastores, source.DatastoreVersionId, ct).ConfigureAwait(false), null)
            : await ResolveVersionAsync(datastores, body["datastore"] as JsonObject, ct).ConfigureAwait(false);
        if (version is null) return versionFault ?? Faults.NotFound("Datastore version cannot be found.");

        string? backupId = null;
        if (body["restorePoint"]?["backupRef"] is JsonValue backupRef)
        {
            backupId = backupRef.ToString();
            var backup = await backups.GetAsync(backupId, projectId, ct).ConfigureAwait(false);
            if (backup is null) return Faults.NotFound($"Backup {backupId} cannot be found.");
            if (backup.State != BackupState.Completed) return Faults.BadRequest($"Backup {backupId} is not complete (it is {backup.State}).");
            if (backup.DatastoreVersionId != version.Id) return Faults.BadRequest($"Backup {backupId} was taken of another datastore version.");
            if (source is not null) return Faults.BadRequest("A replica cannot be restored from a backup.");
        }
        JsonObject? overrides = null;
        string? configurationId = null;
        if (body["configuration"] is JsonValue configurationRef)
        {
            if (source is not null) return Faults.BadRequest("A replica gets its configuration from its source's settings; attach a group after it is created.");
            var group = await new ConfigurationStore(http.RequestServices.GetRequiredService<Trove.Guest.State.StateDatabase>())
                .GetAsync(configurationRef.ToString(), projectId, ct).ConfigureAwait(false);
            if (group is null) return Faults.NotFound($"Configuration group id: {configurationRef} could not be found.");
            if (group.DatastoreVersionId != version.Id)
                return Faults.BadRequest($"Datastore Version on Configuration {group.DatastoreVersionId} does not match the Datastore Version on the instance {version.Id}.");
            overrides = group.Values();
            configurationId = group.Id;
        }

        var key = worker.Environment.Settings.EncryptGuestRpc;
        var created = new List<InstanceRecord>();
        for (var n = 1; n <= replicaCount; n++)
        {
            created.Add(await instances.CreateAsync(new InstanceRecord
            {
                Id = Guid.NewGuid().ToString(), ProjectId = projectId, Name = replicaCount > 1 ? $"{name}-{n}" : name, FlavorId = flavor.Id, VolumeSizeGb = size,
                DatastoreVersionId = version.Id, ReplicaOf = source?.Id, RpcKey = key ? NewKey() : null, ConfigurationId = configurationId,
            }, ct).ConfigureAwait(false));
        }

        if (source is null)
        {
            await worker.StartAsync(created[0].Id, "create", new JsonObject
            {
                ["request_id"] = FlowSupport.NewRequestId(), ["databases"] = databases.DeepClone(), ["users"] = users.DeepClone(), ["backup_id"] = backupId,
                ["overrides"] = overrides,
            }, ct).ConfigureAwait(false);
        }
        else
        {
            // The source's snapshot is a backup the replicas are seeded from (Trove's replication snapshot).
            var snapshot = await backups.CreateAsync(new BackupRecord
            {
                Id = Guid.NewGuid().ToString(), ProjectId = projectId, InstanceId = source.Id, Name = $"Replication snapshot of {source.Name}",
                DatastoreVersionId = source.DatastoreVersionId,
            }, ct).ConfigureAwait(false);
            await worker.StartAsync(source.Id, "create_replicas", new JsonObject
            {
                ["replica_ids"] = new JsonArray(created.Select(c => (JsonNode)c.Id).ToArray()), ["snapshot_backup_id"] = snapshot.Id,
            }, ct).ConfigureAwait(false);
        }
        var views = new InstanceViews(http, projectId, await datastores.ListAsync(ct).ConfigureAwait(false), options.HeartbeatExpiry, clock.GetUtcNow());
        return Results.Json(new Dictionary<string, object> { ["instance"] = views.View(created[0], false, [], detail: true) });
    }

    private static async Task<IResult> ActionAsync(string projectId, string id, HttpContext http, InstanceStore instances, FlavorStore flavors, [FromServices] TaskWorker worker,
        ApiOptions options, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var instance = await instances.GetAsync(id, projectId, ct).ConfigureAwait(false);
        if (instance is null) return NotFound(id);
        var (body, fault) = await ApiRequest.ReadAnyAsync(http).ConfigureAwait(false);
        if (body is null) return fault!;
        if (body.Count != 1) return Faults.BadRequest("An action body has exactly one action.");
        var (action, arguments) = body.First();
        switch (action)
        {
            case "restart":
                return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Rebooting, "restart", [], ct).ConfigureAwait(false);
            case "resize" when arguments is JsonObject { } resize && resize["volume"] is JsonObject volume:
            {
                if (volume["size"] is not JsonValue v || !TryInt(v, out var size)) return Faults.BadRequest("Resize needs an integer volume 'size'.");
                if (size <= instance.VolumeSizeGb)
                    return Faults.BadRequest($"The new volume 'size' must be larger than the current volume size of '{instance.VolumeSizeGb}'.");
                if (size > MaxVolumeSizeGb) return Faults.BadRequest($"Volume 'size' cannot exceed maximum of {MaxVolumeSizeGb} GB, {size} cannot be accepted.");
                return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Resizing, "resize_volume", new JsonObject { ["size"] = size }, ct).ConfigureAwait(false);
            }
            case "resize" when arguments is JsonObject { } resizeFlavor && resizeFlavor["flavorRef"] is JsonValue flavorRef:
            {
                var flavor = (await flavors.ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(x => x.Id == flavorRef.ToString());
                if (flavor is null) return Faults.NotFound($"Flavor {flavorRef} could not be found.");
                if (flavor.Id == instance.FlavorId) return Faults.BadRequest($"The new flavor id must be different than the current flavor id of '{instance.FlavorId}'.");
                return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Resizing, "resize_flavor", new JsonObject { ["flavor_id"] = flavor.Id }, ct)
                    .ConfigureAwait(false);
            }
            case "resize":
                return Faults.BadRequest("Resize needs either 'volume' with a 'size' or a 'flavorRef'.");
            case "promote_to_replica_source":
                if (instance.ReplicaOf is null) return Faults.BadRequest($"Instance {id} is not a replica.");
                return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Promoting, "promote", [], ct).ConfigureAwait(false);
            case "eject_replica_source":
                if ((await instances.ReplicasOfAsync(id, ct).ConfigureAwait(false)).Count == 0) return Faults.BadRequest($"Instance {id} is not a replica source.");
                if (!Conductor.HeartbeatExpiry.IsStale(instance.LastHeartbeatAt, clock.GetUtcNow(), options.HeartbeatExpiry))
                    return Faults.BadRequest($"Replica Source {id} cannot be ejected as it has a current heartbeat.");
                return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Ejecting, "eject", [], ct).ConfigureAwait(false);
            default:
                return Faults.BadRequest($"Invalid instance action: {action}");
        }
    }

    private static async Task<IResult> UpdateAsync(string projectId, string id, HttpContext http, InstanceStore instances, [FromServices] TaskWorker worker)
    {
        var ct = http.RequestAborted;
        var instance = await instances.GetAsync(id, projectId, ct).ConfigureAwait(false);
        if (instance is null) return NotFound(id);
        var (body, fault) = await ApiRequest.ReadAsync(http, "instance").ConfigureAwait(false);
        if (body is null) return fault!;
        if (body["name"] is JsonValue newName)
        {
            var text = newName.ToString();
            if (string.IsNullOrWhiteSpace(text) || text.Length > 255) return Faults.BadRequest("The instance needs a 'name' of 1 to 255 characters.");
            await instances.RenameAsync(id, text, ct).ConfigureAwait(false);
        }
        if (body.TryGetPropertyValue("replica_of", out var replicaOf) && replicaOf is null)
        {
            if (instance.ReplicaOf is null) return Faults.BadRequest($"Instance {id} is not a replica.");
            return await BeginAsync(instances, worker, instance, InstanceTaskStatus.Detaching, "detach_replica", [], ct).ConfigureAwait(false);
        }
        // configuration-attach sends the group's id; a null (or empty) one detaches. troveclient's configuration-detach sends
        // an empty instance body, which Trove Zed ignores: here it detaches too, so the shell command does what it says.
        var configuration = body.TryGetPropertyValue("configuration", out var c) ? c : null;
        var detach = body.ContainsKey("configuration") ? configuration is null || configuration.ToString().Length == 0 : body.Count == 0;
        if (configuration is not null && !detach) return await AttachConfigurationAsync(http, projectId, instance, configuration.ToString()).ConfigureAwait(false);
        if (detach && instance.ConfigurationId is { } attached) return await DetachConfigurationAsync(http, instance, attached).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> AttachConfigurationAsync(HttpContext http, string projectId, InstanceRecord instance, string configurationId)
    {
        var ct = http.RequestAborted;
        var services = http.RequestServices;
        var group = await new ConfigurationStore(services.GetRequiredService<Trove.Guest.State.StateDatabase>()).GetAsync(configurationId, projectId, ct)
            .ConfigureAwait(false);
        if (group is null) return Faults.NotFound($"Configuration group id: {configurationId} could not be found.");
        if (instance.ConfigurationId is { } current) return Faults.BadRequest($"Instance {instance.Id} already has a Configuration Group attached: {current}.");
        if (group.DatastoreVersionId != instance.DatastoreVersionId)
            return Faults.BadRequest($"Datastore Version on Configuration {group.DatastoreVersionId} does not match the Datastore Version on the instance {instance.DatastoreVersionId}.");
        if (NotReady(instance) is { } notReady) return notReady;
        try
        {
            await Attachment(services).AttachAsync(instance, group.Id, group.Values(), Guest(services, instance), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Trove.Guest.Messaging.Client.RemoteErrorException or Trove.Guest.Messaging.Client.MessagingTimeoutException)
        {
            return Faults.GuestError($"The guest of instance {instance.Id} did not take the configuration: {e.Message}");
        }
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> DetachConfigurationAsync(HttpContext http, InstanceRecord instance, string configurationId)
    {
        var ct = http.RequestAborted;
        var services = http.RequestServices;
        if (NotReady(instance) is { } notReady) return notReady;
        var values = await new ConfigurationStore(services.GetRequiredService<Trove.Guest.State.StateDatabase>()).ValuesForAsync(configurationId, ct)
            .ConfigureAwait(false) ?? [];
        try
        {
            await Attachment(services).DetachAsync(instance, values, Guest(services, instance), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Trove.Guest.Messaging.Client.RemoteErrorException or Trove.Guest.Messaging.Client.MessagingTimeoutException)
        {
            return Faults.GuestError($"The guest of instance {instance.Id} did not drop the configuration: {e.Message}");
        }
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    // Trove's message when a configuration changes on an instance that is not ACTIVE or runs a task.
    private static IResult? NotReady(InstanceRecord instance) =>
        instance.TaskStatus == InstanceTaskStatus.None && instance.ServiceStatus is "healthy" or "running" or "restart required"
            ? null
            : Faults.BadRequest($"The operation you have requested cannot be executed because the instance status is currently: {Status(instance)}.");

    private static string Status(InstanceRecord instance) => InstanceViews.Status(instance, backupRunning: false);

    private static ConfigurationAttachment Attachment(IServiceProvider services) => new(services.GetRequiredService<ConfigurationRules>(),
        services.GetRequiredService<InstanceStore>(), services.GetRequiredService<DatastoreStore>(), services.GetRequiredService<FlavorStore>(),
        services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ConfigurationAttachment>>());

    private static GuestClient Guest(IServiceProvider services, InstanceRecord instance) =>
        services.GetRequiredService<GuestClients>().For(instance.Id, instance.RpcKey);

    private static async Task<IResult> BeginAsync(InstanceStore instances, TaskWorker worker, InstanceRecord instance, string task, string kind, JsonObject payload,
        CancellationToken ct)
    {
        if (!await instances.TryBeginTaskAsync(instance.Id, task, ct).ConfigureAwait(false)) return Busy(instance);
        await worker.StartAsync(instance.Id, kind, payload, ct).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static IResult NotFound(string id) => Faults.NotFound($"Instance {id} cannot be found.");

    // Trove's UnprocessableEntity for an action on an instance another task holds.
    private static IResult Busy(InstanceRecord instance) => Faults.Unprocessable(
        $"Instance {instance.Id} is not currently available for an action to be performed (task status was {instance.TaskStatus}).");

    private static async Task<DatastoreVersion?> FindVersionAsync(DatastoreStore datastores, string versionId, CancellationToken ct) =>
        (await datastores.ListAsync(ct).ConfigureAwait(false)).SelectMany(d => d.Versions).FirstOrDefault(v => v.Id == versionId);

    /// <summary>The version the request names (datastore type and version, by name or id), or the datastore's default, or the only one.</summary>
    private static async Task<(DatastoreVersion?, IResult?)> ResolveVersionAsync(DatastoreStore datastores, JsonObject? requested, CancellationToken ct)
    {
        var all = await datastores.ListAsync(ct).ConfigureAwait(false);
        var type = requested?["type"]?.ToString();
        Datastore? datastore;
        if (type is null)
        {
            if (all.Count != 1) return (null, Faults.BadRequest("Please specify a datastore (there is more than one, and no default)."));
            datastore = all[0];
        }
        else
        {
            datastore = all.FirstOrDefault(d => d.Id == type) ?? all.FirstOrDefault(d => d.Name == type);
            if (datastore is null) return (null, Faults.NotFound($"Datastore '{type}' cannot be found."));
        }
        var active = datastore.Versions.Where(v => v.Active).ToList();
        var versionName = requested?["version"]?.ToString();
        var version = versionName is null
            ? active.FirstOrDefault(v => v.Id == datastore.DefaultVersionId) ?? (active.Count == 1 ? active[0] : null)
            : active.FirstOrDefault(v => v.Id == versionName) ?? active.FirstOrDefault(v => v.Name == versionName);
        return version is null
            ? (null, Faults.NotFound(versionName is null ? $"Default version for datastore '{datastore.Name}' not found." : $"Datastore version '{versionName}' cannot be found."))
            : (version, null);
    }

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>An integer, given as a number or a numeric string (troveclient sends either).</summary>
    internal static bool TryInt(JsonValue value, out int result)
    {
        result = 0;
        return value.GetValueKind() switch
        {
            JsonValueKind.Number => value.TryGetValue(out result),
            JsonValueKind.String => int.TryParse(value.GetValue<string>(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out result),
            _ => false,
        };
    }

    /// <summary>A fresh per-instance RPC key (Trove's <c>instance_rpc_encr_key</c>: 32 random characters).</summary>
    private static string NewKey() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
}
