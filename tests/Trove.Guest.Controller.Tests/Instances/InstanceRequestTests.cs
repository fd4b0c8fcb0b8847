using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.State.Notifications;
using Trove.Guest.State.Tasks;
using Trove.Guest.TaskManager.Flows;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Instances;

/// <summary>
/// The API in front of a worker that only records tasks (the <c>api</c> role alone): what a request is refused with, and
/// that a refused request records nothing; what an accepted one records.
/// </summary>
public sealed class InstanceApiFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-inst-").FullName;
    private WebApplication _app = null!;
    private TaskWorker _worker = null!;
    private static readonly HttpClient Http = new();

    public ManualClock Clock { get; } = new();
    public StateDatabase Database { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public string ProjectA { get; private set; } = "";
    public string ProjectB { get; private set; } = "";
    public string VersionId { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(Database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var identity = new IdentityStore(Database, Clock);
        ProjectA = await identity.CreateProjectAsync("alpha", CancellationToken.None);
        ProjectB = await identity.CreateProjectAsync("beta", CancellationToken.None);
        await identity.CreateUserAsync(ProjectA, "alice", "alice's secret", CancellationToken.None);
        await identity.CreateUserAsync(ProjectB, "bob", "bob's secret", CancellationToken.None);
        await new FlavorStore(Database).AddAsync(new Flavor("1", "db.small", 512, 1, 0), CancellationToken.None);
        await new FlavorStore(Database).AddAsync(new Flavor("2", "db.medium", 1024, 1, 0), CancellationToken.None);
        var datastores = new DatastoreStore(Database);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        VersionId = await datastores.AddVersionAsync(mariadb, "10.11", "10.11", "mariadb", null, null, active: true, CancellationToken.None);
        await datastores.SetDefaultVersionAsync(mariadb, VersionId, CancellationToken.None);
        // Only what a worker that records tasks uses: its settings and the task store.
        var env = new FlowEnvironment
        {
            Settings = new FlowSettings { TransportUrl = "rabbit://unused", TemplatesDir = "" },
            Tasks = new TaskStore(Database, Clock), Notifications = new NotificationStore(Database), Loggers = NullLoggerFactory.Instance,
            Instances = null!, Backups = null!, Flavors = null!, Datastores = null!, Guests = null!, Compute = null!, Reports = null!,
        };
        _worker = new TaskWorker(env, TaskWorker.AllFlows(), new TaskWorkerOptions { RunFlows = false });
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        _app = TroveApi.Build(new ApiOptions { ListenUrl = BaseUrl }, Database, Clock, l => l.SetMinimumLevel(LogLevel.Warning), s => s.AddSingleton(_worker));
        await _app.StartAsync();
    }

    public async Task<string> TokenAsync(string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{BaseUrl}/v1.0");
        request.Headers.Add("X-Auth-User", user);
        request.Headers.Add("X-Auth-Key", password);
        using var response = await Http.SendAsync(request);
        return response.Headers.GetValues("X-Auth-Token").Single();
    }

    public async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? body, string token)
    {
        using var request = new HttpRequestMessage(method, BaseUrl + path);
        request.Headers.Add("X-Auth-Token", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _worker.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

public sealed class InstanceRequestTests(InstanceApiFixture api) : IClassFixture<InstanceApiFixture>
{
    private static string Create(string name = "db1", object? flavor = null, string volume = """{"size": 1}""", string extra = "") =>
        "{\"instance\": {\"name\": \"" + name + "\", \"flavorRef\": \"" + (flavor ?? "1") + "\", \"volume\": " + volume + extra + "}}";

    private async Task<(int Instances, int Tasks)> CountsAsync()
    {
        await using var connection = await api.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT count(*) FROM instances), (SELECT count(*) FROM tasks)";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt32(reader.GetValue(0)), Convert.ToInt32(reader.GetValue(1)));
    }

    [Theory]
    [InlineData("99", """{"size": 1}""", "", HttpStatusCode.NotFound, "itemNotFound", "Flavor 99 could not be found.")]
    [InlineData("1", """{"size": 0}""", "", HttpStatusCode.BadRequest, "badRequest", "Volume 'size' needs to be a positive integer value, 0 cannot be accepted.")]
    [InlineData("1", """{"size": -3}""", "", HttpStatusCode.BadRequest, "badRequest", "-3 cannot be accepted")]
    [InlineData("1", """{"size": 11}""", "", HttpStatusCode.BadRequest, "badRequest", "cannot exceed maximum of 10 GB")]
    [InlineData("1", """{"size": "big"}""", "", HttpStatusCode.BadRequest, "badRequest", "integer 'size'")]
    [InlineData("1", """{"size": 1}""", """, "databases": [{"name": "x'; DROP DATABASE mysql; --"}]""", HttpStatusCode.BadRequest, "badRequest", "is not a valid schema name")]
    [InlineData("1", """{"size": 1}""", """, "databases": [{"name": "mysql"}]""", HttpStatusCode.BadRequest, "badRequest", "is on the reserved list")]
    [InlineData("1", """{"size": 1}""", """, "users": [{"name": "a`b", "password": "pw1234"}]""", HttpStatusCode.BadRequest, "badRequest", "is not a valid user name")]
    [InlineData("1", """{"size": 1}""", """, "users": [{"name": "app"}]""", HttpStatusCode.BadRequest, "badRequest", "needs a 'password'")]
    [InlineData("1", """{"size": 1}""", """, "datastore": {"type": "nosql"}""", HttpStatusCode.NotFound, "itemNotFound", "Datastore 'nosql' cannot be found.")]
    [InlineData("1", """{"size": 1}""", """, "restorePoint": {"backupRef": "no-such-backup"}""", HttpStatusCode.NotFound, "itemNotFound", "Backup no-such-backup cannot be found.")]
    [InlineData("1", """{"size": 1}""", ", \"replica_of\": \"no-such-source\"", HttpStatusCode.NotFound, "itemNotFound", "Instance no-such-source cannot be found.")]
    public async Task A_bad_create_gets_Trove_status_and_records_nothing(string flavor, string volume, string extra, HttpStatusCode status, string kind, string message)
    {
        var token = await api.TokenAsync("alice", "alice's secret");
        var before = await CountsAsync();
        var (code, body) = await api.SendAsync(HttpMethod.Post, $"/v1.0/{api.ProjectA}/instances", Create(flavor: flavor, volume: volume, extra: extra), token);
        code.Should().Be(status, body?.ToJsonString());
        body![kind]!["message"]!.GetValue<string>().Should().Contain(message);
        (await CountsAsync()).Should().Be(before, "a refused request records no instance and no task");
    }

    [Fact]
    public async Task Malformed_and_oversized_bodies_are_refused()
    {
        var token = await api.TokenAsync("alice", "alice's secret");
        var before = await CountsAsync();
        (await api.SendAsync(HttpMethod.Post, $"/v1.0/{api.ProjectA}/instances", "{not json", token)).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Post, $"/v1.0/{api.ProjectA}/instances", """{"server": {}}""", token)).Status.Should().Be(HttpStatusCode.BadRequest);
        var huge = Create(name: new string('x', 2 << 20));
        var (status, body) = await api.SendAsync(HttpMethod.Post, $"/v1.0/{api.ProjectA}/instances", huge, token);
        status.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        body!["overLimit"]!["message"]!.GetValue<string>().Should().Contain("larger than");
        (await CountsAsync()).Should().Be(before);
    }

    [Fact]
    public async Task An_accepted_create_shows_BUILD_and_queues_its_task()
    {
        var token = await api.TokenAsync("alice", "alice's secret");
        var (status, body) = await api.SendAsync(HttpMethod.Post, $"/v1.0/{api.ProjectA}/instances",
            Create(name: "good", extra: """, "databases": [{"name": "shop"}], "users": [{"name": "app", "password": "Str0ng_pw", "databases": [{"name": "shop"}]}]"""), token);
        status.Should().Be(HttpStatusCode.OK, body?.ToJsonString());
        var instance = body!["instance"]!;
        instance["status"]!.GetValue<string>().Should().Be("BUILD");
        instance["datastore"]!["type"]!.GetValue<string>().Should().Be("mariadb");
        var id = instance["id"]!.GetValue<string>();
        var task = (await new TaskStore(api.Database).ForInstanceAsync(id, CancellationToken.None)).Single();
        task.Kind.Should().Be("create");
        JsonNode.Parse(task.PayloadJson)!["users"]![0]!["name"]!.GetValue<string>().Should().Be("app");
        (await new InstanceStore(api.Database).GetAsync(id, null, CancellationToken.None))!.RpcKey.Should().HaveLength(32, "every guest gets its own key");
    }

    [Fact]
    public async Task Another_projects_instance_is_not_found_and_its_path_is_forbidden()
    {
        var bobs = await new InstanceStore(api.Database).CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = api.ProjectB, Name = "bobs", FlavorId = "1", VolumeSizeGb = 1, DatastoreVersionId = api.VersionId,
            TaskStatus = InstanceTaskStatus.None, ServiceStatus = InstanceServiceStatus.Healthy,
        }, CancellationToken.None);
        var alice = await api.TokenAsync("alice", "alice's secret");
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
                 {
                     (HttpMethod.Get, $"/instances/{bobs.Id}", null), (HttpMethod.Delete, $"/instances/{bobs.Id}", null),
                     (HttpMethod.Post, $"/instances/{bobs.Id}/action", """{"restart": {}}"""), (HttpMethod.Get, $"/instances/{bobs.Id}/backups", null),
                     (HttpMethod.Post, "/backups", "{\"backup\": {\"name\": \"steal\", \"instance\": \"" + bobs.Id + "\"}}"),
                 })
        {
            var (status, answer) = await api.SendAsync(method, $"/v1.0/{api.ProjectA}{path}", body, alice);
            status.Should().Be(HttpStatusCode.NotFound, $"{method} {path}: {answer?.ToJsonString()}");
        }
        (await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectB}/instances", null, alice)).Status.Should().Be(HttpStatusCode.Forbidden);
        var list = (await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/instances", null, alice)).Body!["instances"]!.AsArray();
        list.Select(i => i!["id"]!.GetValue<string>()).Should().NotContain(bobs.Id);
        (await new InstanceStore(api.Database).GetAsync(bobs.Id, null, CancellationToken.None))!.TaskStatus.Should().Be(InstanceTaskStatus.None);
    }

    [Fact]
    public async Task A_busy_instance_refuses_actions_with_422_and_bad_actions_get_400()
    {
        var busy = await new InstanceStore(api.Database).CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = api.ProjectA, Name = "busy", FlavorId = "1", VolumeSizeGb = 1, DatastoreVersionId = api.VersionId,
            TaskStatus = InstanceTaskStatus.Building,
        }, CancellationToken.None);
        var token = await api.TokenAsync("alice", "alice's secret");
        var path = $"/v1.0/{api.ProjectA}/instances/{busy.Id}";
        var (status, body) = await api.SendAsync(HttpMethod.Post, path + "/action", """{"restart": {}}""", token);
        status.Should().Be(HttpStatusCode.UnprocessableEntity);
        body!["unprocessableEntity"]!["message"]!.GetValue<string>().Should().Contain("is not currently available for an action");
        (await api.SendAsync(HttpMethod.Delete, path, null, token)).Status.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await api.SendAsync(HttpMethod.Post, path + "/action", """{"reboot_the_world": {}}""", token)).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Post, path + "/action", """{"resize": {"volume": {"size": 1}}}""", token)).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Post, path + "/action", """{"promote_to_replica_source": {}}""", token)).Status.Should().Be(HttpStatusCode.BadRequest);
        (await new TaskStore(api.Database).ForInstanceAsync(busy.Id, CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task An_expired_token_gets_401()
    {
        var token = await api.TokenAsync("alice", "alice's secret");
        (await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/instances", null, token)).Status.Should().Be(HttpStatusCode.OK);
        api.Clock.Now += TimeSpan.FromHours(2);
        try
        {
            var (status, body) = await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/instances", null, token);
            status.Should().Be(HttpStatusCode.Unauthorized);
            body!["unauthorized"].Should().NotBeNull();
        }
        finally
        {
            api.Clock.Now -= TimeSpan.FromHours(2);
        }
    }
}
