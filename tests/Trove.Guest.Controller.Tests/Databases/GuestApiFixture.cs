using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trove.Guest.Controller.Api;
using Trove.Guest.Messaging.Client;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>An HTTP answer: status and parsed JSON body (an empty object when there is none).</summary>
public sealed record ApiAnswer(HttpStatusCode Status, JsonElement Body)
{
    /// <summary>The message of a Trove fault body (<c>{"badRequest": {"code": 400, "message": "..."}}</c>).</summary>
    public string FaultMessage(string kind) => Body.GetProperty(kind).GetProperty("message").GetString()!;
}

/// <summary>
/// The API on a fresh SQLite state, with guest RPC over a private RabbitMQ: two projects (alice in alpha, bob in beta),
/// a flavor, MariaDB and PostgreSQL versions. Tests make their own instances, each with a <see cref="FakeGuest"/> or none.
/// </summary>
public sealed class GuestApiFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-dbs-").FullName;
    private readonly List<FakeGuest> _guests = [];
    private readonly HttpClient _http = new();
    private RabbitMqBroker _broker = null!;
    private RpcClient _rpc = null!;
    private WebApplication _app = null!;
    private string _mariaDbVersion = "";
    private string _postgresVersion = "";

    public string BaseUrl { get; private set; } = "";
    public string ProjectA { get; private set; } = "";
    public string ProjectB { get; private set; } = "";
    public string TokenA { get; private set; } = "";
    public string TokenB { get; private set; } = "";
    public string BrokerUrl => _broker.Url;
    public InstanceStore Instances { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _broker = await RabbitMqBroker.StartAsync();
        var database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var identity = new IdentityStore(database);
        ProjectA = await identity.CreateProjectAsync("alpha", CancellationToken.None);
        ProjectB = await identity.CreateProjectAsync("beta", CancellationToken.None);
        await identity.CreateUserAsync(ProjectA, "alice", "alice's secret", CancellationToken.None);
        await identity.CreateUserAsync(ProjectB, "bob", "bob's secret", CancellationToken.None);
        await new FlavorStore(database).AddAsync(new Flavor("2", "m1.small", 2048, 1, 20), CancellationToken.None);
        var datastores = new DatastoreStore(database);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        _mariaDbVersion = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.19", "mariadb", "image-1", "trove,mariadb", active: true, CancellationToken.None);
        await datastores.SetDefaultVersionAsync(mariadb, _mariaDbVersion, CancellationToken.None);
        var postgres = await datastores.AddAsync("postgresql", CancellationToken.None);
        _postgresVersion = await datastores.AddVersionAsync(postgres, "16", "16.4", "postgresql", "image-2", "trove,postgresql", active: true, CancellationToken.None);
        Instances = new InstanceStore(database);

        _rpc = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = _broker.Url, Exchange = "trove" });
        // Short timeouts: a guest that does not answer is reported in seconds, not Trove's 15.
        var clients = new GuestClients(_rpc, new GuestTimeouts { Low = TimeSpan.FromSeconds(3), High = TimeSpan.FromSeconds(3) });
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        _app = TroveApi.Build(new ApiOptions { ListenUrl = BaseUrl }, database, logging: l => l.SetMinimumLevel(LogLevel.Warning), services: s => s.AddSingleton(clients));
        await _app.StartAsync();
        TokenA = await LoginAsync("alice", "alice's secret");
        TokenB = await LoginAsync("bob", "bob's secret");
    }

    /// <summary>
    /// A new instance of project alpha (or <paramref name="project"/>), with its own RPC key, and a fake guest serving its
    /// topic unless <paramref name="withGuest"/> is false.
    /// </summary>
    public async Task<(InstanceRecord Instance, FakeGuest? Guest)> NewInstanceAsync(string? project = null, string serviceStatus = InstanceServiceStatus.Healthy,
        string taskStatus = InstanceTaskStatus.None, bool withGuest = true, bool postgres = false)
    {
        var instance = await Instances.CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = project ?? ProjectA, Name = $"db-{Guid.NewGuid():N}"[..12], FlavorId = "2", VolumeSizeGb = 1,
            DatastoreVersionId = postgres ? _postgresVersion : _mariaDbVersion, ServiceStatus = serviceStatus, TaskStatus = taskStatus,
            RpcKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
        }, CancellationToken.None);
        if (!withGuest) return (instance, null);
        var guest = await FakeGuest.StartAsync(_broker.Url, instance.Id, instance.RpcKey!);
        lock (_guests) _guests.Add(guest);
        return (instance, guest);
    }

    public string InstancePath(InstanceRecord instance, string project) => $"/v1.0/{project}/instances/{instance.Id}";

    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, string? body = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, BaseUrl + path);
        request.Headers.Add("X-Auth-Token", token ?? TokenA);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiAnswer(response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone());
    }

    private async Task<string> LoginAsync(string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{BaseUrl}/v1.0");
        request.Headers.Add("X-Auth-User", user);
        request.Headers.Add("X-Auth-Key", password);
        using var response = await _http.SendAsync(request);
        if (!response.Headers.TryGetValues("X-Auth-Token", out var token))
            throw new InvalidOperationException($"login as {user}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return token.Single();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var guest in _guests) await guest.DisposeAsync();
        await _rpc.DisposeAsync();
        await _broker.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>The database, user and root tests share one broker and one API (instances keep them apart).</summary>
[CollectionDefinition(Name)]
public sealed class GuestApiCollection : ICollectionFixture<GuestApiFixture>
{
    public const string Name = "guest API";
}
