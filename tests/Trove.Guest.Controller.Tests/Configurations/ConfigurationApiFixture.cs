using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.TaskManager.Configurations;
using Trove.Guest.TaskManager.Flows;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Configurations;

/// <summary>
/// The API on a fresh SQLite state database with the repository's configuration rules (<c>templates/</c>): projects
/// alpha (alice) and beta (bob), MariaDB 10.11 (default, active) and 10.6 (inactive), and PostgreSQL 16, which has no rules.
/// </summary>
public sealed class ConfigurationApiFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-config-").FullName;
    private readonly HttpClient _http = new();
    private readonly Dictionary<string, string> _tokens = [];
    private WebApplication _app = null!;

    public StateDatabase Database { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public string ProjectA { get; private set; } = "";
    public string ProjectB { get; private set; } = "";
    public string MariaDb1011 { get; private set; } = "";
    public string MariaDb106 { get; private set; } = "";
    public string Postgres16 { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(Database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var identity = new IdentityStore(Database);
        ProjectA = await identity.CreateProjectAsync("alpha", CancellationToken.None);
        ProjectB = await identity.CreateProjectAsync("beta", CancellationToken.None);
        await identity.CreateUserAsync(ProjectA, "alice", "alice's secret", CancellationToken.None);
        await identity.CreateUserAsync(ProjectB, "bob", "bob's secret", CancellationToken.None);
        await new FlavorStore(Database).AddAsync(new Flavor("2", "m1.small", 2048, 1, 20), CancellationToken.None);
        var datastores = new DatastoreStore(Database);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        MariaDb1011 = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.19", "mariadb", "image-1", null, active: true, CancellationToken.None);
        MariaDb106 = await datastores.AddVersionAsync(mariadb, "10.6", "10.6.1", "mariadb", "image-0", null, active: false, CancellationToken.None);
        await datastores.SetDefaultVersionAsync(mariadb, MariaDb1011, CancellationToken.None);
        var postgresql = await datastores.AddAsync("postgresql", CancellationToken.None);
        Postgres16 = await datastores.AddVersionAsync(postgresql, "16", "16.4", "postgresql", "image-2", null, active: true, CancellationToken.None);
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        _app = TroveApi.Build(new ApiOptions { ListenUrl = BaseUrl }, Database,
            services: s =>
            {
                s.AddSingleton(new ConfigurationRules(Path.Combine(RepoPaths.Root, "templates")));
                // The instance and backup routes take the task worker; no test here reaches them, and one that did would fail loudly.
                s.AddSingleton<TaskWorker>(_ => throw new InvalidOperationException("the configuration tests run no task worker"));
            });
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>An instance row in <paramref name="projectId"/> using <paramref name="configurationId"/> (the API's instance side is not needed here).</summary>
    public async Task<InstanceRecord> AddInstanceAsync(string projectId, string name, string? configurationId) =>
        await new InstanceStore(Database).CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = projectId, Name = name, FlavorId = "2", VolumeSizeGb = 1, DatastoreVersionId = MariaDb1011,
            ConfigurationId = configurationId, ServiceStatus = InstanceServiceStatus.Healthy, TaskStatus = InstanceTaskStatus.None,
        }, CancellationToken.None);

    /// <summary>The real <c>trove</c> command of python3-troveclient, as alice (alpha) or bob (beta).</summary>
    public Task<BufferedCommandResult> TroveAsync(bool asBob, params string[] command)
    {
        var (user, password, project) = asBob ? ("bob", "bob's secret", ProjectB) : ("alice", "alice's secret", ProjectA);
        return CliWrap.Cli.Wrap("/usr/bin/trove")
            .WithArguments(["--os-auth-url", $"{BaseUrl}/v1.0", "--bypass-url", $"{BaseUrl}/v1.0/{project}",
                "--os-username", user, "--os-password", password, "--os-project-name", project, .. command])
            .WithEnvironmentVariables(e => e.Set("OS_AUTH_URL", null).Set("OS_USERNAME", null).Set("OS_PASSWORD", null).Set("OS_CLOUD", null))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
    }

    /// <summary>python3-troveclient prints string cells as b'...' (its Python 3 bug); this takes the quotes off.</summary>
    public static string Unquoted(string output) => System.Text.RegularExpressions.Regex.Replace(output, "b'([^']*)'", "$1");

    /// <summary>A request with alice's (or bob's) token; the body as JSON (null when there is none).</summary>
    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, object? body = null, bool asBob = false)
    {
        using var request = new HttpRequestMessage(method, BaseUrl + path);
        request.Headers.Add("X-Auth-Token", await TokenAsync(asBob));
        if (body is string raw) request.Content = new StringContent(raw, System.Text.Encoding.UTF8, "application/json");
        else if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private async Task<string> TokenAsync(bool asBob)
    {
        var user = asBob ? "bob" : "alice";
        if (_tokens.TryGetValue(user, out var token)) return token;
        using var login = new HttpRequestMessage(HttpMethod.Get, $"{BaseUrl}/v1.0");
        login.Headers.Add("X-Auth-User", user);
        login.Headers.Add("X-Auth-Key", asBob ? "bob's secret" : "alice's secret");
        using var response = await _http.SendAsync(login);
        return _tokens[user] = response.Headers.GetValues("X-Auth-Token").Single();
    }

    /// <summary>Creates a group in alice's project over HTTP and returns its id.</summary>
    public async Task<string> CreateGroupAsync(string name, JsonObject values, string? version = null)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, $"/v1.0/{ProjectA}/configurations", new JsonObject
        {
            ["configuration"] = new JsonObject
            {
                ["name"] = name, ["values"] = values, ["datastore"] = new JsonObject { ["type"] = "mariadb", ["version"] = version ?? "10.11" },
            },
        });
        if (status != 200) throw new InvalidOperationException($"create answered {status}: {body?.ToJsonString()}");
        return body!["configuration"]!["id"]!.GetValue<string>();
    }

}
