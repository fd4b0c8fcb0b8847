using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;
using Trove.Guest.State.Tasks;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's REST API v1.0, as far as it is built: the v1-style token endpoint troveclient's <c>_v1_auth</c> talks to,
/// and the project-scoped resources behind <see cref="TokenAuthentication"/>.
/// </summary>
public static class TroveApi
{
    /// <param name="services">Adds what the guest-facing resources need (<c>GuestClients</c>, the task worker); without them those answer 500.</param>
    public static WebApplication Build(ApiOptions options, StateDatabase database, TimeProvider? clock = null, Action<ILoggingBuilder>? logging = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.ListenUrl);
        if (logging is not null) logging(builder.Logging);
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(new IdentityStore(database, clock));
        builder.Services.AddSingleton(new FlavorStore(database));
        builder.Services.AddSingleton(new DatastoreStore(database));
        builder.Services.AddSingleton(new InstanceStore(database, clock));
        builder.Services.AddSingleton(new BackupStore(database, clock));
        builder.Services.AddSingleton(new TaskStore(database, clock));
        builder.Services.AddSingleton(new NotificationStore(database, clock));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(clock ?? TimeProvider.System);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseMiddleware<TokenAuthentication>();
        app.MapInstances();
        app.MapBackups();
        app.MapDatabasesAndUsers();
        app.MapConfigurations();

        // GET /v1.0 with X-Auth-User and X-Auth-Key: a token, and where the project's API is (X-Server-Management-Url).
        app.MapGet("/v1.0", async (HttpContext http, IdentityStore identity) =>
        {
            var user = http.Request.Headers["X-Auth-User"].ToString();
            var key = http.Request.Headers["X-Auth-Key"].ToString();
            if (user.Length == 0 || key.Length == 0) return Faults.Unauthorized("X-Auth-User and X-Auth-Key are required.");
            var project = http.Request.Headers["X-Auth-Project-Id"].ToString();
            var issued = await identity.LoginAsync(user, key, project, options.TokenLifetime, http.RequestAborted).ConfigureAwait(false);
            if (issued is null) return Faults.Unauthorized("Invalid user name, password or project.");
            http.Response.Headers["X-Auth-Token"] = issued.Token;
            http.Response.Headers["X-Server-Management-Url"] = $"{http.Request.Scheme}://{http.Request.Host}/v1.0/{issued.Principal.ProjectId}";
            return Results.NoContent();
        });

        app.MapGet("/v1.0/{projectId}/flavors", async (string projectId, HttpContext http, FlavorStore flavors) =>
        {
            var all = await flavors.ListAsync(http.RequestAborted).ConfigureAwait(false);
            return Results.Json(new Dictionary<string, object>
            {
                ["flavors"] = all.Select(f => FlavorView(http, projectId, f)).ToList(),
            });
        });
        app.MapGet("/v1.0/{projectId}/flavors/{id}", async (string projectId, string id, HttpContext http, FlavorStore flavors) =>
            (await flavors.ListAsync(http.RequestAborted).ConfigureAwait(false)).FirstOrDefault(f => f.Id == id) is { } f
                ? Results.Json(new Dictionary<string, object> { ["flavor"] = FlavorView(http, projectId, f) })
                : Faults.NotFound($"Flavor {id} could not be found."));
        app.MapGet("/v1.0/{projectId}/datastores", async (string projectId, HttpContext http, DatastoreStore datastores) =>
            Results.Json(new Dictionary<string, object>
            {
                ["datastores"] = (await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false)).Select(d => DatastoreView(http, projectId, d)).ToList(),
            }));
        app.MapGet("/v1.0/{projectId}/datastores/{datastore}", async (string projectId, string datastore, HttpContext http, DatastoreStore datastores) =>
            await datastores.FindAsync(datastore, http.RequestAborted).ConfigureAwait(false) is { } found
                ? Results.Json(new Dictionary<string, object> { ["datastore"] = DatastoreView(http, projectId, found) })
                : Faults.NotFound($"Datastore '{datastore}' cannot be found."));
        app.MapGet("/v1.0/{projectId}/datastores/{datastore}/versions", async (string projectId, string datastore, HttpContext http, DatastoreStore datastores) =>
            await datastores.FindAsync(datastore, http.RequestAborted).ConfigureAwait(false) is { } found
                ? Results.Json(new Dictionary<string, object> { ["versions"] = found.Versions.Where(v => v.Active).Select(v => VersionView(http, projectId, v)).ToList() })
                : Faults.NotFound($"Datastore '{datastore}' cannot be found."));
        app.MapGet("/v1.0/{projectId}/datastores/{datastore}/versions/{version}", async (string projectId, string datastore, string version, HttpContext http,
            DatastoreStore datastores) =>
        {
            var found = await datastores.FindAsync(datastore, http.RequestAborted).ConfigureAwait(false);
            if (found is null) return Faults.NotFound($"Datastore '{datastore}' cannot be found.");
            var match = found.Versions.FirstOrDefault(v => v.Active && v.Id == version) ?? found.Versions.FirstOrDefault(v => v.Active && v.Name == version);
            return match is null
                ? Faults.NotFound($"Datastore version '{version}' cannot be found.")
                : Results.Json(new Dictionary<string, object> { ["version"] = VersionView(http, projectId, match) });
        });
        return app;
    }

    // Trove shows Nova's integer ids as "id" and any other id as "str_id" (with "id": null).
    private static Dictionary<string, object?> FlavorView(HttpContext http, string projectId, Flavor f) => new()
    {
        ["id"] = int.TryParse(f.Id, out var numeric) ? numeric : null,
        ["str_id"] = f.Id, ["name"] = f.Name, ["ram"] = f.RamMb, ["vcpus"] = f.Vcpus, ["disk"] = f.DiskGb, ["ephemeral"] = 0,
        ["links"] = Links(http, $"/v1.0/{projectId}/flavors/{f.Id}"),
    };

    private static List<Dictionary<string, string>> Links(HttpContext http, string path) =>
        [new() { ["rel"] = "self", ["href"] = $"{http.Request.Scheme}://{http.Request.Host}{path}" }];

    /// <summary>Trove's datastore view: its active versions (name and id), and the default version's id when it has one.</summary>
    private static Dictionary<string, object> DatastoreView(HttpContext http, string projectId, Datastore d)
    {
        var view = new Dictionary<string, object>
        {
            ["id"] = d.Id, ["name"] = d.Name, ["links"] = Links(http, $"/v1.0/{projectId}/datastores/{d.Id}"),
            ["versions"] = d.Versions.Where(v => v.Active).Select(v => new Dictionary<string, object>
            {
                ["id"] = v.Id, ["name"] = v.Name, ["version"] = v.Version, ["links"] = Links(http, $"/v1.0/{projectId}/datastores/versions/{v.Id}"),
            }).ToList(),
        };
        if (d.DefaultVersionId is { } defaultVersion) view["default_version"] = defaultVersion;
        return view;
    }

    private static Dictionary<string, object?> VersionView(HttpContext http, string projectId, DatastoreVersion v) => new()
    {
        ["id"] = v.Id, ["name"] = v.Name, ["datastore"] = v.DatastoreId, ["version"] = v.Version, ["active"] = v.Active, ["packages"] = "",
        ["image"] = v.ImageId ?? "", ["links"] = Links(http, $"/v1.0/{projectId}/datastores/versions/{v.Id}"),
    };
}
