using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Trove.Guest.Controller.Api;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Configurations;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.TaskManager.Configurations;
using Trove.Guest.TaskManager.Flows;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Configurations;

/// <summary>
/// A private broker, a state database with a MariaDB 10.11 catalog and a 2 GB flavor, an RPC client on exchange
/// <c>trove</c>, and the API with guest RPC over that client (user alice in project alpha).
/// </summary>
public sealed class AttachmentFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-attach-").FullName;
    private RabbitMqBroker _broker = null!;
    private WebApplication _api = null!;

    public string Url => _broker.Url;
    public StateDatabase Database { get; private set; } = null!;
    public RpcClient Rpc { get; private set; } = null!;
    public string Project { get; private set; } = "";
    public string Version { get; private set; } = "";
    public string ApiUrl { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _broker = await RabbitMqBroker.StartAsync();
        Database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(Database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        Project = await new IdentityStore(Database).CreateProjectAsync("alpha", CancellationToken.None);
        await new FlavorStore(Database).AddAsync(new Flavor("2", "m1.small", 2048, 1, 20), CancellationToken.None);
        var datastores = new DatastoreStore(Database);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        Version = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.19", "mariadb", "image-1", null, active: true, CancellationToken.None);
        Rpc = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = Url, Exchange = "trove" });
        await new IdentityStore(Database).CreateUserAsync(Project, "alice", "alice's secret", CancellationToken.None);
        ApiUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        _api = TroveApi.Build(new ApiOptions { ListenUrl = ApiUrl }, Database, services: s =>
        {
            s.AddSingleton(new ConfigurationRules(Path.Combine(RepoPaths.Root, "templates")));
            s.AddSingleton(new GuestClients(Rpc));
            s.AddSingleton<TaskWorker>(_ => throw new InvalidOperationException("these tests run no task worker"));
        });
        await _api.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _api.StopAsync();
        await _api.DisposeAsync();
        await Rpc.DisposeAsync();
        await _broker.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// The guest boundary of a configuration attach and detach: a stand-in guest (our RPC server on <c>guestagent.&lt;id&gt;</c>,
/// encrypted with the instance's key as a real guest is) records what the control plane calls, with which arguments, and
/// the instance's recorded state afterwards.
/// </summary>
public sealed class ConfigurationAttachmentTests(AttachmentFixture env) : IClassFixture<AttachmentFixture>
{
    private sealed record GuestCall(string Method, JsonObject Arguments);

    /// <summary>Answers update_overrides and apply_overrides (or fails the one named), recording each call.</summary>
    private sealed class RecordingGuest : IAsyncDisposable
    {
        private readonly RpcServer _server;

        public ConcurrentQueue<GuestCall> Calls { get; } = new();

        private RecordingGuest(RpcServer server) => _server = server;

        public static async Task<RecordingGuest> StartAsync(string url, InstanceRecord instance, string? failing = null)
        {
            RecordingGuest? guest = null;
            var endpoint = new RpcEndpoint("1.0");
            foreach (var method in new[] { "update_overrides", "apply_overrides" })
            {
                endpoint.Map(method, (request, _) =>
                {
                    guest!.Calls.Enqueue(new GuestCall(request.Method, (JsonObject)request.Arguments.Values.DeepClone()));
                    if (request.Method == failing) throw RpcFailureException.ValueError($"{request.Method} refused by the test");
                    return ValueTask.FromResult<JsonNode?>(null);
                });
            }
            var server = new RpcServer(new RpcServerOptions { TransportUrl = url, Exchange = "trove", Topic = $"guestagent.{instance.Id}", Server = instance.Id },
                new RpcDispatcher([endpoint]), SecureSerializer.ForTroveKey(instance.RpcKey!));
            guest = new RecordingGuest(server);
            await server.StartAsync(CancellationToken.None);
            return guest;
        }

        public async ValueTask DisposeAsync()
        {
            await _server.StopAsync(CancellationToken.None);
            await _server.DisposeAsync();
        }
    }

    private InstanceStore Instances => new(env.Database);

    private ConfigurationAttachment Attachment => new(new ConfigurationRules(Path.Combine(RepoPaths.Root, "templates")), Instances,
        new DatastoreStore(env.Database), new FlavorStore(env.Database));

    private GuestClient GuestOf(InstanceRecord instance) => new GuestClients(env.Rpc).For(instance.Id, instance.RpcKey);

    private async Task<(InstanceRecord Instance, string ConfigurationId)> InstanceWithGroupAsync(JsonObject values, bool attached)
    {
        var group = await new ConfigurationStore(env.Database).CreateAsync(env.Project, "group", null, env.Version, values, CancellationToken.None);
        var instance = await Instances.CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = env.Project, Name = "db", FlavorId = "2", VolumeSizeGb = 1, DatastoreVersionId = env.Version,
            ConfigurationId = attached ? group.Id : null, ServiceStatus = InstanceServiceStatus.Healthy, TaskStatus = InstanceTaskStatus.None,
            RpcKey = Convert.ToHexString(Guid.NewGuid().ToByteArray()),
        }, CancellationToken.None);
        return (instance, group.Id);
    }

    private async Task<InstanceRecord> ReloadAsync(InstanceRecord instance) => (await Instances.GetAsync(instance.Id, null, CancellationToken.None))!;

    [Fact]
    public async Task Attaching_dynamic_values_writes_them_then_sets_them_live_and_needs_no_restart()
    {
        var values = new JsonObject { ["max_connections"] = 300, ["long_query_time"] = 2.5, ["sql_mode"] = "STRICT_ALL_TABLES" };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: false);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        var change = await Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None);

        change.RestartRequired.Should().BeFalse();
        guest.Calls.Select(c => (c.Method, c.Arguments.ToJsonString())).Should().Equal(
            ("update_overrides", """{"overrides":{"max_connections":300,"long_query_time":2.5,"sql_mode":"STRICT_ALL_TABLES"},"remove":false}"""),
            ("apply_overrides", """{"overrides":{"max_connections":300,"long_query_time":2.5,"sql_mode":"STRICT_ALL_TABLES"}}"""));
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().Be(groupId);
        after.ServiceStatus.Should().Be(InstanceServiceStatus.Healthy);
    }

    [Fact]
    public async Task Attaching_a_restart_required_value_sets_only_the_dynamic_ones_live_and_marks_the_instance()
    {
        var values = new JsonObject { ["innodb_log_buffer_size"] = 33554432, ["wait_timeout"] = 120 };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: false);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        var change = await Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None);

        change.RestartRequired.Should().BeTrue();
        guest.Calls.Select(c => (c.Method, c.Arguments.ToJsonString())).Should().Equal(
            ("update_overrides", """{"overrides":{"innodb_log_buffer_size":33554432,"wait_timeout":120},"remove":false}"""),
            ("apply_overrides", """{"overrides":{"wait_timeout":120}}"""));
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().Be(groupId);
        after.ServiceStatus.Should().Be(InstanceServiceStatus.RestartRequired);
        (await Instances.RecordHeartbeatAsync(instance.Id, "healthy", null, CancellationToken.None)).Should()
            .BeFalse("only a restart clears restart required, not the next heartbeat");
    }

    [Fact]
    public async Task Only_restart_required_values_are_written_and_nothing_is_set_live()
    {
        var values = new JsonObject { ["performance_schema"] = true };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: false);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        (await Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None)).RestartRequired.Should().BeTrue();

        guest.Calls.Select(c => c.Method).Should().Equal("update_overrides");
        (await ReloadAsync(instance)).ServiceStatus.Should().Be(InstanceServiceStatus.RestartRequired);
    }

    [Fact]
    public async Task Detaching_dynamic_values_removes_the_file_and_puts_the_flavors_defaults_back_live()
    {
        var values = new JsonObject { ["max_connections"] = 300, ["connect_timeout"] = 20 };
        var (instance, _) = await InstanceWithGroupAsync(values, attached: true);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        var change = await Attachment.DetachAsync(instance, values, GuestOf(instance), CancellationToken.None);

        change.RestartRequired.Should().BeFalse();
        // my.cnf.sbn on a 2048 MB flavor: max_connections = 2048 / 8 + 50, connect_timeout = 15.
        guest.Calls.Select(c => (c.Method, c.Arguments.ToJsonString())).Should().Equal(
            ("update_overrides", """{"overrides":{},"remove":true}"""),
            ("apply_overrides", """{"overrides":{"max_connections":306,"connect_timeout":15}}"""));
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().BeNull();
        after.ServiceStatus.Should().Be(InstanceServiceStatus.Healthy);
    }

    [Theory]
    [InlineData("""{"innodb_open_files": 4000, "max_connections": 300}""")] // needs a restart
    [InlineData("""{"autocommit": false, "max_connections": 300}""")] // dynamic, but the template has no default for autocommit
    public async Task Detaching_what_cannot_be_reset_live_sets_nothing_live_and_needs_a_restart(string json)
    {
        var values = JsonNode.Parse(json)!.AsObject();
        var (instance, _) = await InstanceWithGroupAsync(values, attached: true);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        (await Attachment.DetachAsync(instance, values, GuestOf(instance), CancellationToken.None)).RestartRequired.Should().BeTrue();

        guest.Calls.Select(c => (c.Method, c.Arguments.ToJsonString())).Should().Equal(("update_overrides", """{"overrides":{},"remove":true}"""));
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().BeNull();
        after.ServiceStatus.Should().Be(InstanceServiceStatus.RestartRequired);
    }

    [Fact]
    public async Task A_guest_that_refuses_the_values_leaves_the_instance_as_it_was()
    {
        var values = new JsonObject { ["max_connections"] = 300 };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: false);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance, failing: "update_overrides");

        var attach = () => Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None);

        (await attach.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage.Should().Contain("update_overrides refused by the test");
        guest.Calls.Select(c => c.Method).Should().Equal("update_overrides");
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().BeNull();
        after.ServiceStatus.Should().Be(InstanceServiceStatus.Healthy);
    }

    [Fact]
    public async Task Values_written_but_not_set_live_are_attached_and_need_a_restart()
    {
        var values = new JsonObject { ["max_connections"] = 300 };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: false);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance, failing: "apply_overrides");

        var attach = () => Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None);

        await attach.Should().ThrowAsync<RemoteErrorException>();
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().Be(groupId, "the guest's file has the values");
        after.ServiceStatus.Should().Be(InstanceServiceStatus.RestartRequired);
    }

    [Fact]
    public async Task Replacing_a_groups_values_on_an_instance_drops_the_old_file_first()
    {
        var values = new JsonObject { ["wait_timeout"] = 60 };
        var (instance, groupId) = await InstanceWithGroupAsync(values, attached: true);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);

        await Attachment.AttachAsync(instance, groupId, values, GuestOf(instance), CancellationToken.None, replace: true);

        guest.Calls.First().Arguments.ToJsonString().Should().Be("""{"overrides":{"wait_timeout":60},"remove":true}""");
    }

    [Fact]
    public async Task Patching_a_group_in_use_through_the_api_sends_the_merged_values_to_its_instances()
    {
        var (instance, groupId) = await InstanceWithGroupAsync(new JsonObject { ["wait_timeout"] = 60 }, attached: true);
        await using var guest = await RecordingGuest.StartAsync(env.Url, instance);
        using var http = new HttpClient();
        using var login = new HttpRequestMessage(HttpMethod.Get, $"{env.ApiUrl}/v1.0");
        login.Headers.Add("X-Auth-User", "alice");
        login.Headers.Add("X-Auth-Key", "alice's secret");
        var token = (await http.SendAsync(login)).Headers.GetValues("X-Auth-Token").Single();

        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"{env.ApiUrl}/v1.0/{env.Project}/configurations/{groupId}")
        {
            Content = new StringContent("""{"configuration": {"values": {"innodb_open_files": 4000}}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        patch.Headers.Add("X-Auth-Token", token);
        using var response = await http.SendAsync(patch);

        ((int)response.StatusCode).Should().Be(200, await response.Content.ReadAsStringAsync());
        guest.Calls.Select(c => (c.Method, c.Arguments.ToJsonString())).Should().Equal(
            ("update_overrides", """{"overrides":{"wait_timeout":60,"innodb_open_files":4000},"remove":false}"""),
            ("apply_overrides", """{"overrides":{"wait_timeout":60}}"""));
        var after = await ReloadAsync(instance);
        after.ConfigurationId.Should().Be(groupId);
        after.ServiceStatus.Should().Be(InstanceServiceStatus.RestartRequired, "innodb_open_files needs a restart");
    }
}
