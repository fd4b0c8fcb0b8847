using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>
/// A stand-in for the parts of Trove's API the controller does not serve yet (instances, backups, databases, users,
/// root, configurations), on a loopback port, answering with Trove's exact shapes (trove/instance/views.py,
/// trove/backup/views.py) and fault bodies. A resource's status follows a script: each show takes the next status, the
/// last one stays, and <see cref="Gone"/> makes it answer 404 from then on. Every request is recorded.
/// </summary>
public sealed class FakeTroveApi : IAsyncDisposable
{
    public const string Gone = "<gone>";
    public const string User = "admin";
    public const string Password = "fake secret";
    public const string Project = "p-0001";
    private const string Token = "tok-1";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Resource> _instances = new();
    private readonly ConcurrentDictionary<string, Resource> _backups = new();
    private int _ids;

    /// <summary>A resource: its JSON (without status), its status now, and the script of the statuses its next shows take.</summary>
    public sealed class Resource(JsonObject body, string status)
    {
        public JsonObject Body { get; } = body;
        public Queue<string> Script { get; set; } = new();
        public string Status { get; set; } = status;
        public int Shows { get; set; }

        /// <summary>The next status of the script (the last one stays); null once the resource is gone.</summary>
        public JsonObject? Show()
        {
            lock (this)
            {
                Shows++;
                if (Script.Count > 0) Status = Script.Dequeue();
                if (Status == Gone) return null;
                var shown = (JsonObject)Body.DeepClone();
                shown["status"] = Status;
                return shown;
            }
        }
    }

    public sealed record Request(string Method, string RawTarget, JsonNode? Body);

    public ConcurrentQueue<Request> Requests { get; } = new();
    public string BaseUrl { get; }
    public string AuthUrl => $"{BaseUrl}/v1.0";

    /// <summary>When set, project requests answer 401 (an expired token) while the login still works.</summary>
    public bool RejectTokens { get; set; }

    /// <summary>The status script a created instance (or backup) follows.</summary>
    public string[] CreateScript { get; set; } = ["BUILD", "ACTIVE"];
    public string[] ActionScript { get; set; } = ["REBOOT", "ACTIVE"];
    public string[] DeleteScript { get; set; } = ["SHUTDOWN", Gone];
    public string[] BackupScript { get; set; } = ["NEW", "BUILDING", "COMPLETED"];
    public JsonObject? CreateFault { get; set; }

    private FakeTroveApi(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<FakeTroveApi> StartAsync()
    {
        var baseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(baseUrl);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeTroveApi(app, baseUrl);
        fake.Map(app);
        await app.StartAsync();
        return fake;
    }

    public Resource AddInstance(string name, string status = "ACTIVE", string? id = null, string flavor = "2", int? size = 2)
    {
        id ??= $"00000000-0000-0000-0000-{Interlocked.Increment(ref _ids):D12}";
        var body = new JsonObject
        {
            ["id"] = id, ["name"] = name, ["operating_status"] = "HEALTHY",
            ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = $"{BaseUrl}/v1.0/{Project}/instances/{id}" }),
            ["flavor"] = new JsonObject { ["id"] = flavor, ["links"] = new JsonArray() },
            ["datastore"] = new JsonObject { ["type"] = "mariadb", ["version"] = "10.11" },
            ["region"] = "RegionOne", ["access"] = new JsonObject(), ["ip"] = new JsonArray("10.0.0.5"),
            ["created"] = "2026-11-27T20:00:00", ["updated"] = "2026-11-27T20:00:00",
        };
        if (size is { } gb) body["volume"] = new JsonObject { ["size"] = gb };
        var resource = new Resource(body, status);
        _instances[id] = resource;
        return resource;
    }

    public Resource AddBackup(string name, string instanceId, string status, string updated)
    {
        var id = $"b0000000-0000-0000-0000-{Interlocked.Increment(ref _ids):D12}";
        var resource = new Resource(BackupBody(id, name, instanceId, updated, null), status);
        _backups[id] = resource;
        return resource;
    }

    public Resource Instance(string id) => _instances[id];

    public IEnumerable<Request> RequestsTo(string method, string pathContains) =>
        Requests.Where(r => r.Method == method && r.RawTarget.Contains(pathContains, StringComparison.Ordinal));

    private static JsonObject BackupBody(string id, string name, string instanceId, string updated, string? parent) => new()
    {
        ["id"] = id, ["name"] = name, ["description"] = null, ["locationRef"] = null, ["instance_id"] = instanceId,
        ["created"] = "2026-11-27T20:00:00", ["updated"] = updated, ["size"] = null, ["parent_id"] = parent,
        ["datastore"] = new JsonObject { ["type"] = "mariadb", ["version"] = "10.11", ["version_id"] = "v-1" },
    };

    private static IResult Fault(string kind, int code, string message) =>
        Results.Json(new JsonObject { [kind] = new JsonObject { ["code"] = code, ["message"] = message } }, statusCode: code);

    private static IResult NotFound(string message) => Fault("itemNotFound", 404, message);

    private void Map(WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            http.Request.EnableBuffering();
            var text = await new StreamReader(http.Request.Body).ReadToEndAsync();
            http.Request.Body.Position = 0;
            var raw = http.Features.Get<IHttpRequestFeature>()!.RawTarget;
            Requests.Enqueue(new Request(http.Request.Method, raw, text.Length > 0 ? JsonNode.Parse(text) : null));
            if (http.Request.Path.StartsWithSegments($"/v1.0/{Project}")
                && (RejectTokens || http.Request.Headers["X-Auth-Token"] != Token))
            {
                await Fault("unauthorized", 401, "The request you have made requires authentication.").ExecuteAsync(http);
                return;
            }
            await next(http);
        });

        app.MapGet("/v1.0", (HttpContext http) =>
        {
            if (http.Request.Headers["X-Auth-User"] != User || http.Request.Headers["X-Auth-Key"] != Password
                || http.Request.Headers["X-Auth-Project-Id"] is { Count: > 0 } project && project != Project)
                return Fault("unauthorized", 401, "Invalid user name, password or project.");
            http.Response.Headers["X-Auth-Token"] = Token;
            http.Response.Headers["X-Server-Management-Url"] = $"{BaseUrl}/v1.0/{Project}";
            return Results.NoContent();
        });

        var project = app.MapGroup($"/v1.0/{Project}");
        project.MapGet("/flavors", () => Results.Json(new JsonObject
        {
            ["flavors"] = new JsonArray(
                new JsonObject { ["id"] = 2, ["str_id"] = "2", ["name"] = "m1.small", ["ram"] = 2048, ["vcpus"] = 1, ["disk"] = 20, ["ephemeral"] = 0 },
                new JsonObject { ["id"] = null, ["str_id"] = "db-large", ["name"] = "db.large", ["ram"] = 8192, ["vcpus"] = 4, ["disk"] = 40, ["ephemeral"] = 0 }),
        }));
        MapInstances(project);
        MapBackups(project);
        MapInsideInstances(project);
        MapConfigurations(project);
    }

    private void MapInstances(RouteGroupBuilder project)
    {
        // Pages of two, with Trove's next link, so that the client has to follow markers.
        project.MapGet("/instances", (HttpContext http, string? marker) =>
        {
            var all = _instances.Values.Select(r => { lock (r) { var o = (JsonObject)r.Body.DeepClone(); o["status"] = r.Status; return o; } })
                .Where(o => o["status"]!.GetValue<string>() != Gone).OrderBy(o => o["id"]!.GetValue<string>(), StringComparer.Ordinal).ToList();
            var page = all.SkipWhile(o => marker is not null && string.CompareOrdinal(o["id"]!.GetValue<string>(), marker) <= 0).Take(2).ToList();
            var body = new JsonObject { ["instances"] = new JsonArray([.. page]) };
            if (page.Count == 2 && all.IndexOf(all.First(o => o["id"]!.GetValue<string>() == page[^1]["id"]!.GetValue<string>())) < all.Count - 1)
                body["links"] = new JsonArray(new JsonObject
                {
                    ["rel"] = "next", ["href"] = $"{BaseUrl}/v1.0/{Project}/instances?limit=2&marker={page[^1]["id"]}",
                });
            return Results.Json(body);
        });
        project.MapGet("/instances/{id}", (string id) =>
            _instances.TryGetValue(id, out var r) && r.Show() is { } shown
                ? Results.Json(new JsonObject { ["instance"] = shown })
                : NotFound($"Instance {id} could not be found."));
        project.MapPost("/instances", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!["instance"]!;
            var created = AddInstance(body["name"]!.GetValue<string>(), "BUILD", flavor: body["flavorRef"]!.ToString(), size: body["volume"]?["size"]?.GetValue<int>());
            created.Script = new Queue<string>(CreateScript);
            if (CreateFault is not null) created.Body["fault"] = CreateFault.DeepClone();
            return Results.Json(new JsonObject { ["instance"] = created.Show() }, statusCode: 200);
        });
        project.MapDelete("/instances/{id}", (string id) =>
        {
            if (!_instances.TryGetValue(id, out var r)) return NotFound($"Instance {id} could not be found.");
            lock (r) r.Script = new Queue<string>(DeleteScript);
            return Results.StatusCode(202);
        });
        project.MapPost("/instances/{id}/action", async (string id, HttpContext http) =>
        {
            if (!_instances.TryGetValue(id, out var r)) return NotFound($"Instance {id} could not be found.");
            var action = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            if (action.ContainsKey("resize") && action["resize"]!["volume"]?["size"]?.GetValue<int>() is <= 2)
                return Fault("badRequest", 400, "The new volume 'size' must be larger than the current volume size of '2'.");
            lock (r) r.Script = new Queue<string>(ActionScript);
            return Results.StatusCode(202);
        });
        project.MapPut("/instances/{id}", (string id) => _instances.ContainsKey(id) ? Results.StatusCode(202) : NotFound($"Instance {id} could not be found."));
    }

    private void MapBackups(RouteGroupBuilder project)
    {
        project.MapGet("/backups", (string? instance_id) => Results.Json(new JsonObject
        {
            ["backups"] = new JsonArray([.. _backups.Values.Select(b => { lock (b) { var o = (JsonObject)b.Body.DeepClone(); o["status"] = b.Status; return o; } })
                .Where(b => instance_id is null || b["instance_id"]!.GetValue<string>() == instance_id)]),
        }));
        project.MapGet("/backups/{id}", (string id) =>
            _backups.TryGetValue(id, out var b) && b.Show() is { } shown
                ? Results.Json(new JsonObject { ["backup"] = shown })
                : NotFound($"Backup {id} cannot be found."));
        project.MapPost("/backups", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!["backup"]!;
            var instance = body["instance"]!.GetValue<string>();
            if (!_instances.ContainsKey(instance)) return NotFound($"Instance {instance} could not be found.");
            var backup = AddBackup(body["name"]!.GetValue<string>(), instance, "NEW", "2026-11-27T21:00:00");
            backup.Script = new Queue<string>(BackupScript);
            return Results.Json(new JsonObject { ["backup"] = backup.Show() }, statusCode: 202);
        });
        project.MapDelete("/backups/{id}", (string id) =>
        {
            if (!_backups.TryGetValue(id, out var b)) return NotFound($"Backup {id} cannot be found.");
            lock (b) b.Script = new Queue<string>(["DELETING", Gone]);
            return Results.StatusCode(202);
        });
    }

    private void MapInsideInstances(RouteGroupBuilder project)
    {
        project.MapGet("/instances/{id}/databases", () => Results.Json(new JsonObject
        {
            ["databases"] = new JsonArray(new JsonObject { ["name"] = "shop" }, new JsonObject { ["name"] = "audit" }),
        }));
        project.MapPost("/instances/{id}/databases", () => Results.StatusCode(202));
        project.MapDelete("/instances/{id}/databases/{name}", (string name) =>
            name == "shop" ? Results.StatusCode(202) : NotFound($"Database {name} could not be found."));
        project.MapGet("/instances/{id}/users", () => Results.Json(new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject
            {
                ["name"] = "app", ["host"] = "%", ["databases"] = new JsonArray(new JsonObject { ["name"] = "shop" }, new JsonObject { ["name"] = "audit" }),
            }),
        }));
        project.MapPost("/instances/{id}/users", () => Results.StatusCode(202));
        project.MapDelete("/instances/{id}/users/{user}", () => Results.StatusCode(202));
        project.MapPost("/instances/{id}/root", (HttpContext http) => Results.Json(new JsonObject
        {
            ["user"] = new JsonObject { ["name"] = "root", ["password"] = "generated-pw", ["databases"] = new JsonArray() },
        }));
        project.MapGet("/instances/{id}/root", () => Results.Json(new JsonObject { ["rootEnabled"] = true }));
    }

    private static void MapConfigurations(RouteGroupBuilder project)
    {
        static JsonObject Group(string id, string name) => new()
        {
            ["id"] = id, ["name"] = name, ["description"] = "tuned", ["datastore_name"] = "mariadb", ["datastore_version_name"] = "10.11",
            ["datastore_version_id"] = "v-1", ["values"] = new JsonObject { ["max_connections"] = 200 }, ["instance_count"] = 0,
            ["created"] = "2026-11-27T20:00:00", ["updated"] = "2026-11-27T20:00:00",
        };
        project.MapGet("/configurations", () => Results.Json(new JsonObject { ["configurations"] = new JsonArray(Group("c-1", "tuned")) }));
        project.MapGet("/configurations/{id}", (string id) =>
            id == "c-1" ? Results.Json(new JsonObject { ["configuration"] = Group("c-1", "tuned") }) : NotFound($"Configuration group {id} cannot be found."));
        project.MapPost("/configurations", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!["configuration"]!;
            var group = Group("c-2", body["name"]!.GetValue<string>());
            group["values"] = body["values"]!.DeepClone();
            return Results.Json(new JsonObject { ["configuration"] = group });
        });
        project.MapDelete("/configurations/{id}", () => Results.StatusCode(202));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
