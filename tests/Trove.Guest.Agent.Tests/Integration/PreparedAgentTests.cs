using Trove.Guest.Testing;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>One agent, prepared once through RPC like a control plane does, then driven through the guest API.</summary>
public sealed class PreparedAgent(BrokerFixture broker) : IAsyncLifetime
{
    public AgentUnderTest Agent { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Agent = await AgentUnderTest.StartAsync(broker.Url);
        await Agent.PrepareAsync(new JsonObject
        {
            ["databases"] = new JsonArray(new JsonObject { ["_name"] = "seed_db", ["_character_set"] = null, ["_collate"] = null }),
            ["users"] = new JsonArray(new JsonObject
            {
                ["_name"] = "seed_user", ["_password"] = "Seed-Pass1", ["_host"] = "%",
                ["_databases"] = new JsonArray(new JsonObject { ["_name"] = "seed_db" }), ["_is_root"] = false,
            }),
        });
    }

    public ValueTask DisposeAsync() => Agent.DisposeAsync();
}

public sealed class PreparedAgentTests(PreparedAgent fixture) : IClassFixture<PreparedAgent>
{
    private AgentUnderTest Agent => fixture.Agent;

    private static string Py(JsonNode? n) => PythonJson.Dumps(n);

    [Fact]
    public void Prepare_reported_building_then_healthy()
    {
        var statuses = Agent.Conductor.Statuses.ToList();
        statuses.First().Should().Be(ServiceStatus.Building);
        statuses.Should().Contain(ServiceStatus.Healthy);
        statuses.TakeWhile(s => s != ServiceStatus.Healthy).Should().OnlyContain(s => s == ServiceStatus.Building);
        var sent = Agent.Conductor.Received.Where(r => r.Method == "heartbeat").Select(r => r.Args["sent"]!.GetValue<double>()).ToList();
        sent.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("the conductor drops a heartbeat whose sent is not newer");
        Agent.Conductor.Received.Where(r => r.Method == "heartbeat").Should().OnlyContain(r => r.Args["instance_id"]!.GetValue<string>() == Agent.Options.GuestId);
    }

    [Fact]
    public async Task Prepare_created_the_databases_and_users_it_was_given()
    {
        Py(await Agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false }))
            .Should().Contain("\"_name\": \"seed_db\"");
        var user = await Agent.CallAsync("get_user", new JsonObject { ["username"] = "seed_user", ["hostname"] = "%" });
        Py(user).Should().Be("""{"_name": "seed_user", "_password": null, "_host": "%", "_databases": [{"_name": "seed_db", "_character_set": null, "_collate": null}], "_is_root": false}""");
    }

    [Fact]
    public async Task End_of_operation_notifications_reach_the_conductor()
    {
        var notification = new JsonObject
        {
            ["request_id"] = "req-n1", ["server_type"] = "guest", ["tenant_id"] = "p1", ["dbname"] = "notified_db",
            ["notification_classname"] = "trove.common.notification.DBaaSDatabaseCreate",
        };
        await Agent.Client.CastAsync(Agent.Target, "create_database",
            new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "notified_db" }) },
            new JsonObject { ["trove_notification"] = notification.DeepClone() });
        await WaitAsync(() => Task.FromResult(Agent.Conductor.Received.Any(r => r.Method == "notify_end" && Py(r.Args).Contains("notified_db"))));
        var end = Agent.Conductor.Received.First(r => r.Method == "notify_end" && Py(r.Args).Contains("notified_db"));
        end.Args["serialized_notification"]!["notification_classname"]!.GetValue<string>().Should().Be("trove.common.notification.DBaaSDatabaseCreate");
        end.Args["notification_args"]!.AsObject().Should().BeEmpty();

        await Agent.Client.CastAsync(Agent.Target, "create_database",
            new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "bad name'" }) },
            new JsonObject { ["trove_notification"] = notification.DeepClone() });
        await WaitAsync(() => Task.FromResult(Agent.Conductor.Received.Any(r => r.Method == "notify_exc_info")));
        var error = Agent.Conductor.Received.First(r => r.Method == "notify_exc_info");
        error.Args["message"]!.GetValue<string>().Should().Contain("not a valid database name");
        error.Args["serialized_notification"]!["instance_id"]!.GetValue<string>().Should().Be(Agent.Options.GuestId);
        error.Args["exception"].Should().BeOfType<JsonArray>();
    }

    [Fact]
    public async Task Guest_logs_are_listed_enabled_and_disabled()
    {
        var admin = new RpcCallOptions { Context = new JsonObject { ["is_admin"] = true } };
        var all = await Agent.Client.CallAsync(Agent.Target, "guest_log_list", null, admin);
        all!.AsArray().Select(l => l!["name"]!.GetValue<string>()).Should().Equal("general", "slow_query", "error", "guest");
        (await Agent.CallAsync("guest_log_list"))!.AsArray().Select(l => l!["name"]!.GetValue<string>()).Should().Equal("general", "slow_query");

        JsonObject Action(string log, bool enable = false, bool disable = false, bool publish = false) => new()
        {
            ["log_name"] = log, ["enable"] = enable, ["disable"] = disable, ["publish"] = publish, ["discard"] = false,
        };
        var enabled = await Agent.CallAsync("guest_log_action", Action("general", enable: true));
        enabled!["status"]!.GetValue<string>().Should().Be("Enabled");
        await Agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false });
        var file = Path.Combine(Agent.Options.Datastore.MountPoint, "data", "mariadb-general.log");
        File.Exists(file).Should().BeTrue("the general log was switched on live, without a restart");
        (await Agent.CallAsync("guest_log_action", Action("general", disable: true)))!["status"]!.GetValue<string>().Should().Be("Disabled");

        var both = () => Agent.CallAsync("guest_log_action", Action("general", enable: true, disable: true));
        (await both.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("BadRequest");
        var sys = () => Agent.CallAsync("guest_log_action", Action("error", enable: true));
        (await sys.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage.Should().Contain("can only be published");
        var publish = () => Agent.CallAsync("guest_log_action", Action("general", publish: true));
        (await publish.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage.Should().Contain("no auth_token", "publishing needs the user's token");
    }

    [Fact]
    public async Task Modules_are_applied_listed_and_removed()
    {
        JsonObject Module(string id, string type, string datastore = "mariadb", int order = 5) => new()
        {
            ["module"] = new JsonObject
            {
                ["id"] = id, ["name"] = "m-" + id, ["type"] = type, ["datastore"] = datastore, ["datastore_version"] = "10.11",
                ["tenant"] = "p1", ["auto_apply"] = false, ["visible"] = true, ["is_admin"] = false, ["priority_apply"] = false,
                ["apply_order"] = order, ["md5"] = null, ["contents"] = "secret-ish contents",
            },
        };
        var results = await Agent.CallAsync("module_apply", new JsonObject
        {
            ["modules"] = new JsonArray(Module("m2", "ping", order: 9), Module("m1", "ping", order: 1), Module("m3", "ping", "postgresql")),
        });
        results!.AsArray().Select(r => r!["id"]!.GetValue<string>()).Should().Equal("m1", "m3", "m2");
        results.AsArray().Single(r => r!["id"]!.GetValue<string>() == "m1")!["message"]!.GetValue<string>().Should().Be("**** PONG ****");
        results.AsArray().Single(r => r!["id"]!.GetValue<string>() == "m3")!["status"]!.GetValue<string>().Should().Be("ERROR");

        var listed = await Agent.CallAsync("module_list", new JsonObject { ["include_contents"] = true });
        listed!.AsArray().Should().Contain(m => m!["id"]!.GetValue<string>() == "m1" && m["contents"]!.GetValue<string>() == "secret-ish contents");
        await Agent.CallAsync("module_remove", new JsonObject { ["module"] = Module("m1", "ping") });
        (await Agent.CallAsync("module_list", new JsonObject { ["include_contents"] = false }))!.AsArray()
            .Select(m => m!["id"]!.GetValue<string>()).Should().NotContain("m1");

        var traversal = () => Agent.CallAsync("module_apply", new JsonObject { ["modules"] = new JsonArray(Module("../../etc", "ping")) });
        (await traversal.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("ValueError");
    }

    [Fact]
    public async Task Upgrade_to_the_same_version_is_a_no_op_and_to_another_asks_for_a_new_image()
    {
        (await Agent.CallAsync("pre_upgrade"))!.AsObject().Should().BeEmpty();
        await Agent.Client.CallAsync(Agent.Target, "upgrade", new JsonObject { ["upgrade_info"] = new JsonObject { ["datastore_version"] = "10.11" } });
        var other = () => Agent.CallAsync("upgrade", new JsonObject { ["upgrade_info"] = new JsonObject { ["datastore_version"] = "11.4" } });
        (await other.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage.Should().Contain("11.4 image");
    }

    [Fact]
    public async Task Passwords_never_reach_the_log()
    {
        var osAdmin = File.ReadAllLines(Path.Combine(Agent.Options.Datastore.MountPoint, "conf.d", "os_admin.cnf"))
            .Single(l => l.StartsWith("password=", StringComparison.Ordinal))["password=".Length..];
        osAdmin.Should().MatchRegex("^[A-Za-z0-9]{36}$");
        File.GetUnixFileMode(Path.Combine(Agent.Options.Datastore.MountPoint, "conf.d", "os_admin.cnf"))
            .Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var root = (await Agent.CallAsync("enable_root"))!["_password"]!.GetValue<string>();
        var bad = () => Agent.CallAsync("change_passwords", new JsonObject { ["users"] = new JsonArray(new JsonObject { ["name"] = "nobody_here", ["host"] = "%", ["password"] = "Leak-Me-Not-1" }) });
        await bad.Should().ThrowAsync<RemoteErrorException>();
        Agent.LogText.Should().NotContain(osAdmin).And.NotContain("Seed-Pass1").And.NotContain(root).And.NotContain("Leak-Me-Not-1");
    }

    [Fact]
    public async Task Rpc_ping_answers_true() => (await Agent.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();

    [Fact]
    public async Task Databases_are_created_listed_with_paging_and_deleted()
    {
        var names = new[] { "pg_a", "pg_b", "pg_c", "pg_d", "pg-e" };
        await Agent.Client.CastAsync(Agent.Target, "create_database", new JsonObject
        {
            ["databases"] = new JsonArray(names.Select(n => (JsonNode?)new JsonObject { ["_name"] = n, ["_character_set"] = n == "pg_a" ? "utf8mb4" : null, ["_collate"] = null }).ToArray()),
        });
        await WaitAsync(async () => Py(await ListDatabases(null, null)).Contains("pg-e"));

        var all = (JsonArray)(await ListDatabases(null, null))![0]!;
        all.Select(d => d!["_name"]!.GetValue<string>()).Should().BeInAscendingOrder(StringComparer.Ordinal)
            .And.NotContain(["mysql", "information_schema", "performance_schema", "sys"]);
        all.Single(d => d!["_name"]!.GetValue<string>() == "pg_a")!["_character_set"]!.GetValue<string>().Should().Be("utf8mb4");

        var page = await ListDatabases(2, "pg_a");
        page![0]!.AsArray().Select(d => d!["_name"]!.GetValue<string>()).Should().Equal("pg_b", "pg_c");
        page[1]!.GetValue<string>().Should().Be("pg_c", "the next marker is the last name returned when more follow");
        var rest = await ListDatabases(10, "pg_c");
        rest![0]!.AsArray().Select(d => d!["_name"]!.GetValue<string>()).Should().Contain(["pg_d"]);
        rest[1].Should().BeNull();

        await Agent.Client.CastAsync(Agent.Target, "delete_database", new JsonObject { ["database"] = new JsonObject { ["_name"] = "pg_d" } });
        await WaitAsync(async () => !Py(await ListDatabases(null, null)).Contains("pg_d"));
    }

    private Task<JsonNode?> ListDatabases(int? limit, string? marker) =>
        Agent.CallAsync("list_databases", new JsonObject { ["limit"] = limit, ["marker"] = marker, ["include_marker"] = false });

    [Fact]
    public async Task Users_are_created_granted_listed_renamed_and_deleted()
    {
        await Agent.Client.CastAsync(Agent.Target, "create_database", new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "app_db" }, new JsonObject { ["_name"] = "appXdb" }) });
        await Agent.Client.CastAsync(Agent.Target, "create_user", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["_name"] = "alice", ["_password"] = "Alice-Pw1", ["_host"] = "%", ["_databases"] = new JsonArray() }),
        });
        await WaitAsync(async () => await Agent.CallAsync("get_user", new JsonObject { ["username"] = "alice", ["hostname"] = "%" }) is not null);

        (await Agent.CallAsync("grant_access", new JsonObject { ["username"] = "alice", ["hostname"] = "%", ["databases"] = new JsonArray("app_db") })).Should().BeNull();
        var access = await Agent.CallAsync("list_access", new JsonObject { ["username"] = "alice", ["hostname"] = "%" });
        access!.AsArray().Select(d => d!["_name"]!.GetValue<string>()).Should().Equal(["app_db"], "'_' is escaped in the grant, so appXdb is not opened too");

        var users = await Agent.CallAsync("list_users", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false });
        var names = users![0]!.AsArray().Select(u => u!["_name"]!.GetValue<string>()).ToList();
        names.Should().Contain("alice").And.NotContain(["os_admin", "root"]);

        (await Agent.CallAsync("revoke_access", new JsonObject { ["username"] = "alice", ["hostname"] = "%", ["database"] = "app_db" })).Should().BeNull();
        (await Agent.CallAsync("revoke_access", new JsonObject { ["username"] = "alice", ["hostname"] = "%", ["database"] = "app_db" }))
            .Should().BeNull("revoking what is not granted is not an error");
        (await Agent.CallAsync("list_access", new JsonObject { ["username"] = "alice", ["hostname"] = "%" }))!.AsArray().Should().BeEmpty();

        await Agent.Client.CastAsync(Agent.Target, "update_attributes", new JsonObject
        {
            ["username"] = "alice", ["hostname"] = "%", ["user_attrs"] = new JsonObject { ["name"] = "alice2", ["password"] = "New-Pw-2" },
        });
        await WaitAsync(async () => await Agent.CallAsync("get_user", new JsonObject { ["username"] = "alice2", ["hostname"] = "%" }) is not null);
        await Agent.Client.CastAsync(Agent.Target, "delete_user", new JsonObject { ["user"] = new JsonObject { ["_name"] = "alice2", ["_host"] = "%" } });
        await WaitAsync(async () => await Agent.CallAsync("get_user", new JsonObject { ["username"] = "alice2", ["hostname"] = "%" }) is null);
    }

    [Theory]
    [InlineData("x'; DROP DATABASE mysql; --")]
    [InlineData("back`tick")]
    [InlineData("quote\"d")]
    [InlineData("a/*comment*/b")]
    [InlineData("semi;colon")]
    [InlineData("päivä")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Hostile_database_names_are_refused_clearly(string name)
    {
        var act = () => Agent.CallAsync("grant_access", new JsonObject { ["username"] = "seed_user", ["hostname"] = "%", ["databases"] = new JsonArray(name) });
        var error = (await act.Should().ThrowAsync<RemoteErrorException>()).Which;
        error.ClassName.Should().Be("ValueError");
        error.RemoteMessage.Should().Contain("database name");
        (await Agent.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();
        Py(await ListDatabases(null, null)).Should().Contain("seed_db");
    }

    [Theory]
    [InlineData("o'brien")]
    [InlineData("back`tick")]
    [InlineData("x\\y")]
    [InlineData(" padded")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Hostile_user_names_are_refused_clearly(string name)
    {
        var act = () => Agent.CallAsync("get_user", new JsonObject { ["username"] = name, ["hostname"] = "%" });
        (await act.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("ValueError");
    }

    [Theory]
    [InlineData("péter")]
    [InlineData("100%user")]
    [InlineData("a--b")]
    [InlineData("x#y")]
    public async Task Unusual_but_valid_user_names_work_end_to_end(string name)
    {
        await Agent.Client.CastAsync(Agent.Target, "create_user", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["_name"] = name, ["_password"] = "P%ss'w\"ord", ["_host"] = "%", ["_databases"] = new JsonArray(new JsonObject { ["_name"] = "seed_db" }) }),
        });
        await WaitAsync(async () => await Agent.CallAsync("get_user", new JsonObject { ["username"] = name, ["hostname"] = "%" }) is not null);
        var user = await Agent.CallAsync("get_user", new JsonObject { ["username"] = name, ["hostname"] = "%" });
        user!["_name"]!.GetValue<string>().Should().Be(name);
        user["_databases"]!.AsArray().Single()!["_name"]!.GetValue<string>().Should().Be("seed_db");
        await Agent.Client.CastAsync(Agent.Target, "delete_user", new JsonObject { ["user"] = new JsonObject { ["_name"] = name, ["_host"] = "%" } });
        await WaitAsync(async () => await Agent.CallAsync("get_user", new JsonObject { ["username"] = name, ["hostname"] = "%" }) is null);
    }

    [Fact]
    public async Task Root_can_be_enabled_and_is_reported_enabled()
    {
        var root = await Agent.CallAsync("enable_root");
        root!["_name"]!.GetValue<string>().Should().Be("root");
        root["_host"]!.GetValue<string>().Should().Be("%");
        root["_password"]!.GetValue<string>().Should().MatchRegex("^[A-Za-z0-9]{36}$");
        (await Agent.CallAsync("is_root_enabled"))!.GetValue<bool>().Should().BeTrue();
        var act = () => Agent.CallAsync("get_root_password");
        (await act.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("DatastoreOperationNotSupported");
    }

    [Fact]
    public async Task Filesystem_stats_have_troves_shape()
    {
        var stats = (await Agent.CallAsync("get_filesystem_stats", new JsonObject { ["fs_path"] = null }))!.AsObject();
        stats.Select(p => p.Key).Should().BeEquivalentTo("block_size", "total_blocks", "free_blocks", "total", "free", "used");
        stats["total"]!.GetValue<double>().Should().BeGreaterThan(0);
        stats["free"]!.GetValue<long>().Should().BeGreaterThan(1024 * 1024, "free is in bytes, as Trove sends it");
    }

    [Fact]
    public async Task Malformed_requests_fail_clearly_and_unknown_ones_are_NoSuchMethod()
    {
        var snapshot = () => Agent.CallAsync("get_replication_snapshot", new JsonObject { ["snapshot_info"] = new JsonObject(), ["replica_source_config"] = "" });
        var error = (await snapshot.Should().ThrowAsync<RemoteErrorException>()).Which;
        error.ClassName.Should().Be("ValueError");
        error.RemoteMessage.Should().Contain("has no id");
        var unknown = () => Agent.CallAsync("get_hwinfo");
        (await unknown.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("NoSuchMethod");
        var tooNew = () => Agent.CallAsync("rpc_ping", version: "1.2");
        (await tooNew.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("UnsupportedVersion");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 20 s");
            await Task.Delay(100);
        }
    }
}
