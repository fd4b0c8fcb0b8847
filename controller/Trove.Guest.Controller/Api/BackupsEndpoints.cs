using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Backups;
using Trove.Guest.TaskManager.Flows;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's backup resource: create (full, or incremental on a parent), list (all, or an instance's), show, delete (with
/// its objects in the object store, and the incrementals built on it).
/// </summary>
public static class BackupsEndpoints
{
    public static void MapBackups(this WebApplication app)
    {
        app.MapGet("/v1.0/{projectId}/backups", async (string projectId, HttpContext http, BackupStore backups, DatastoreStore datastores) =>
        {
            var instanceId = http.Request.Query["instance_id"].ToString();
            return await ListAsync(http, projectId, instanceId.Length == 0 ? null : instanceId, backups, datastores).ConfigureAwait(false);
        });
        app.MapGet("/v1.0/{projectId}/instances/{id}/backups", async (string projectId, string id, HttpContext http, InstanceStore instances, BackupStore backups,
            DatastoreStore datastores) =>
            await instances.GetAsync(id, projectId, http.RequestAborted).ConfigureAwait(false) is null
                ? Faults.NotFound($"Instance {id} cannot be found.")
                : await ListAsync(http, projectId, id, backups, datastores).ConfigureAwait(false));
        app.MapGet("/v1.0/{projectId}/backups/{id}", async (string projectId, string id, HttpContext http, BackupStore backups, DatastoreStore datastores) =>
        {
            var backup = await backups.GetAsync(id, projectId, http.RequestAborted).ConfigureAwait(false);
            if (backup is null) return NotFound(id);
            var all = await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false);
            return Results.Json(new Dictionary<string, object> { ["backup"] = View(backup, all) });
        });
        app.MapPost("/v1.0/{projectId}/backups", CreateAsync);
        app.MapDelete("/v1.0/{projectId}/backups/{id}", DeleteAsync);
    }

    private static async Task<IResult> ListAsync(HttpContext http, string projectId, string? instanceId, BackupStore backups, DatastoreStore datastores)
    {
        var all = await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false);
        var list = await backups.ListAsync(projectId, instanceId, http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object> { ["backups"] = list.Select(b => View(b, all)).ToList() });
    }

    private static async Task<IResult> CreateAsync(string projectId, HttpContext http, InstanceStore instances, BackupStore backups, DatastoreStore datastores,
        [FromServices] TaskWorker worker)
    {
        var ct = http.RequestAborted;
        var (body, fault) = await ApiRequest.ReadAsync(http, "backup").ConfigureAwait(false);
        if (body is null) return fault!;
        if (body.ContainsKey("restore_from")) return Faults.BadRequest("Importing a backup from another cloud (restore_from) is not supported.");
        var name = body["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(name) || name.Length > 255) return Faults.BadRequest("The backup needs a 'name' of 1 to 255 characters.");
        var instanceId = body["instance"]?.ToString();
        if (string.IsNullOrEmpty(instanceId)) return Faults.BadRequest("The backup needs an 'instance'.");
        var instance = await instances.GetAsync(instanceId, projectId, ct).ConfigureAwait(false);
        if (instance is null) return Faults.NotFound($"Instance {instanceId} cannot be found.");

        // An incremental builds on the given parent, or (incremental=1 alone) on the instance's newest complete backup.
        string? parentId = body["parent_id"]?.ToString();
        var incremental = body["incremental"] is JsonValue inc && (inc.ToString() is "1" or "true" or "True");
        if (parentId is null && incremental)
        {
            parentId = (await backups.ListAsync(projectId, instanceId, ct).ConfigureAwait(false)).FirstOrDefault(b => b.State == BackupState.Completed)?.Id;
            if (parentId is null) return Faults.BadRequest($"Instance {instanceId} has no complete backup to build an incremental backup on.");
        }
        if (parentId is not null)
        {
            var parent = await backups.GetAsync(parentId, projectId, ct).ConfigureAwait(false);
            if (parent is null) return NotFound(parentId);
            if (parent.InstanceId != instanceId) return Faults.BadRequest($"Backup {parentId} is not a backup of instance {instanceId}.");
            if (parent.State != BackupState.Completed) return Faults.BadRequest($"Backup {parentId} is not complete (it is {parent.State}).");
        }
        if (instance.ServiceStatus is not (InstanceServiceStatus.Healthy or InstanceServiceStatus.Running))
            return Faults.Unprocessable($"Instance {instanceId} is not currently available for an action to be performed (its database is {instance.ServiceStatus}).");
        if (!await instances.TryBeginTaskAsync(instanceId, InstanceTaskStatus.BackingUp, ct).ConfigureAwait(false))
            return Faults.Unprocessable($"Instance {instanceId} is not currently available for an action to be performed (task status was {instance.TaskStatus}).");

        var backup = await backups.CreateAsync(new BackupRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = projectId, InstanceId = instanceId, ParentId = parentId, Name = name,
            Description = body["description"]?.ToString(), DatastoreVersionId = instance.DatastoreVersionId,
        }, ct).ConfigureAwait(false);
        await worker.StartAsync(instanceId, "backup", new JsonObject { ["backup_id"] = backup.Id, ["request_id"] = FlowSupport.NewRequestId() }, ct).ConfigureAwait(false);
        var all = await datastores.ListAsync(ct).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object> { ["backup"] = View(backup, all) }, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> DeleteAsync(string projectId, string id, HttpContext http, BackupStore backups, IServiceProvider services)
    {
        var ct = http.RequestAborted;
        var backup = await backups.GetAsync(id, projectId, ct).ConfigureAwait(false);
        if (backup is null) return NotFound(id);
        // The whole chain from this backup down: Trove deletes the incrementals that depend on it too.
        var chain = new List<BackupRecord> { backup };
        for (var i = 0; i < chain.Count; i++) chain.AddRange(await backups.ChildrenAsync(chain[i].Id, ct).ConfigureAwait(false));
        if (chain.FirstOrDefault(b => BackupState.IsRunning(b.State)) is { } running)
            return Faults.Unprocessable($"Backup {running.Id} is still running; it can be deleted once it has finished.");
        var objects = services.GetService(typeof(BackupObjects)) as BackupObjects;
        foreach (var b in Enumerable.Reverse(chain))
        {
            if (b.Location is { } location && objects is not null)
            {
                try
                {
                    await objects.DeleteAsync(location, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or InvalidOperationException)
                {
                    await backups.SetStateAsync(b.Id, BackupState.DeleteFailed, e.Message, ct).ConfigureAwait(false);
                    return Faults.GuestError($"Backup {b.Id} could not be deleted from the object store: {e.Message}");
                }
            }
            await backups.MarkDeletedAsync(b.Id, ct).ConfigureAwait(false);
        }
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static IResult NotFound(string id) => Faults.NotFound($"Backup {id} cannot be found.");

    private static Dictionary<string, object?> View(BackupRecord b, IReadOnlyList<Datastore> datastores)
    {
        var view = new Dictionary<string, object?>
        {
            ["id"] = b.Id, ["name"] = b.Name, ["description"] = b.Description, ["locationRef"] = b.Location, ["instance_id"] = b.InstanceId,
            ["created"] = InstanceViews.Time(b.CreatedAt), ["updated"] = InstanceViews.Time(b.UpdatedAt), ["size"] = b.SizeGb, ["status"] = b.State,
            ["parent_id"] = b.ParentId, ["project_id"] = b.ProjectId,
        };
        foreach (var d in datastores)
        {
            if (d.Versions.FirstOrDefault(v => v.Id == b.DatastoreVersionId) is { } v)
                view["datastore"] = new Dictionary<string, object> { ["type"] = d.Name, ["version"] = v.Name, ["version_id"] = v.Id };
        }
        return view;
    }
}
