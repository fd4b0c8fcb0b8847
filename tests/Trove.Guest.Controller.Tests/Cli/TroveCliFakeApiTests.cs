using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Cli;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>
/// <c>trove-guest</c> as a client of Trove's API, against <see cref="FakeTroveApi"/> (the boundary faked where the
/// controller does not serve the resources yet): request shapes, name resolution, tables and --json, --wait with its
/// progress and its outcomes (done 0, ERROR/FAILED 2, timeout 5), Trove's faults (1), auth failures (4), no API (3).
/// </summary>
public sealed class TroveCliFakeApiTests : IAsyncLifetime
{
    private FakeTroveApi _fake = null!;

    public async ValueTask InitializeAsync() => _fake = await FakeTroveApi.StartAsync();

    public async ValueTask DisposeAsync() => await _fake.DisposeAsync();

    private Dictionary<string, string> Environment(string password = FakeTroveApi.Password) => new()
    {
        ["OS_AUTH_URL"] = _fake.AuthUrl, ["OS_USERNAME"] = FakeTroveApi.User, ["OS_PASSWORD"] = password, ["OS_PROJECT_NAME"] = FakeTroveApi.Project,
    };

    private Task<CliRun> RunAsync(params string[] args) => CliRun.RunAsync(Environment(), args);

    /// <summary>Fast polls, so that a wait through a few statuses takes a fraction of a second.</summary>
    private static readonly string[] Quick = ["--poll-interval", "0.02"];

    [Fact]
    public async Task Create_with_wait_resolves_names_sends_troves_body_and_ends_when_the_instance_is_active()
    {
        var source = _fake.AddInstance("primary");
        _fake.CreateScript = ["BUILD", "BUILD", "BUILD", "ACTIVE"];

        var run = await RunAsync(["create", "db1", "m1.small", "--size", "5", "--databases", "shop", "audit", "--users", "app:pw1", "bob:pw2",
            "--datastore", "mariadb", "--datastore_version", "10.11", "--replica_of", "primary", "--wait", .. Quick]);

        run.Code.Should().Be(ExitCodes.Ok, run.ToString());
        var body = _fake.RequestsTo("POST", "/instances").Single().Body!["instance"]!;
        body["name"]!.GetValue<string>().Should().Be("db1");
        body["flavorRef"]!.GetValue<int>().Should().Be(2, "m1.small resolves to its Nova id, sent as troveclient sends it");
        body["volume"]!["size"]!.GetValue<int>().Should().Be(5);
        body["databases"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()).Should().Equal("shop", "audit");
        body["users"]!.AsArray().Select(u => $"{u!["name"]}:{u["password"]}:{u["databases"]!.AsArray().Count}").Should().Equal("app:pw1:2", "bob:pw2:2");
        body["datastore"]!.ToJsonString().Should().Be("""{"type":"mariadb","version":"10.11"}""");
        body["replica_of"]!.GetValue<string>().Should().Be(source.Body["id"]!.GetValue<string>(), "the source's name resolves to its id");
        body["replica_count"]!.GetValue<int>().Should().Be(1);

        // Progress: one line per status change on stderr (BUILD once, although it was seen three times), then the end.
        var progress = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        progress.Count(l => l.Contains(": BUILD (", StringComparison.Ordinal)).Should().Be(1, run.Err);
        progress.Should().Contain(l => l.Contains("instance db1 (", StringComparison.Ordinal) && l.Contains(": ACTIVE (", StringComparison.Ordinal));
        progress[^1].Should().Contain("create finished after");
        // The instance as last seen, as troveclient's show prints it.
        run.Out.Should().MatchRegex(@"\|\s*status\s*\|\s*ACTIVE\s*\|").And.MatchRegex(@"\|\s*flavor\s*\|\s*2\s*\|").And.MatchRegex(@"\|\s*volume\s*\|\s*5\s*\|");
    }

    [Fact]
    public async Task Create_without_wait_prints_the_accepted_instance_at_once()
    {
        _fake.CreateScript = ["BUILD", "ACTIVE"];
        var run = await RunAsync("create", "db2", "db-large", "--size", "1");
        run.Code.Should().Be(0, run.ToString());
        _fake.RequestsTo("POST", "/instances").Single().Body!["instance"]!["flavorRef"]!.GetValue<string>().Should().Be("db-large", "a flavor without a Nova id goes by its str_id");
        run.Out.Should().MatchRegex(@"\|\s*status\s*\|\s*BUILD\s*\|");
        run.Err.Should().BeEmpty("nothing is waited for");
    }

    [Fact]
    public async Task A_wait_that_ends_in_error_exits_2_with_troves_fault()
    {
        _fake.CreateScript = ["BUILD", "ERROR"];
        _fake.CreateFault = new JsonObject { ["message"] = "Polling request timed out.", ["created"] = "2026-11-27T20:01:00", ["details"] = "" };
        var run = await RunAsync(["--json", "create", "db3", "2", "--size", "1", "--wait", .. Quick]);
        run.Code.Should().Be(ExitCodes.WaitFailed, run.ToString());
        run.Err.Should().Contain("create failed, status ERROR: Polling request timed out.");
        JsonNode.Parse(run.Out)!["status"]!.GetValue<string>().Should().Be("ERROR", "--json prints the instance as last seen");
    }

    [Fact]
    public async Task A_wait_that_runs_out_of_time_exits_5()
    {
        var instance = _fake.AddInstance("busy");
        _fake.ActionScript = ["REBOOT"];
        var run = await RunAsync(["restart", "busy", "--wait", "--timeout", "0.3", .. Quick]);
        run.Code.Should().Be(ExitCodes.WaitTimedOut, run.ToString());
        run.Err.Should().Contain("still REBOOT after").And.Contain("--timeout 0.3");
        _fake.RequestsTo("POST", "/action").Single().Body!.ToJsonString().Should().Be("""{"restart":{}}""");
        instance.Shows.Should().BeGreaterThan(3, "the wait polled the instance until the time was up");
    }

    [Fact]
    public async Task Restart_resize_and_replication_actions_wait_for_active_again()
    {
        var instance = _fake.AddInstance("db");
        var id = instance.Body["id"]!.GetValue<string>();
        foreach (var (args, action) in new (string[], string)[]
        {
            (["restart", "db"], """{"restart":{}}"""),
            (["resize-instance", "db", "db.large"], """{"resize":{"flavorRef":"db-large"}}"""),
            (["resize-volume", id, "10"], """{"resize":{"volume":{"size":10}}}"""),
            (["promote-to-replica-source", "db"], """{"promote_to_replica_source":{}}"""),
            (["eject-replica-source", "db"], """{"eject_replica_source":{}}"""),
        })
        {
            _fake.Requests.Clear();
            var run = await RunAsync([.. args, "--wait", .. Quick]);
            run.Code.Should().Be(0, run.ToString());
            run.Err.Should().Contain(": REBOOT (").And.Contain(": ACTIVE (");
            _fake.RequestsTo("POST", $"/instances/{id}/action").Single().Body!.ToJsonString().Should().Be(action);
        }

        var detach = await RunAsync("detach-replica", "db");
        detach.Code.Should().Be(0, detach.ToString());
        _fake.RequestsTo("PUT", $"/instances/{id}").Single().Body!.ToJsonString().Should().Be("""{"instance":{"replica_of":null}}""");
    }

    [Fact]
    public async Task Delete_with_wait_ends_when_the_instance_is_gone()
    {
        var instance = _fake.AddInstance("old");
        var run = await RunAsync(["delete", "old", "--wait", .. Quick]);
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Contain("Request to delete instance old has been accepted.");
        run.Err.Should().Contain(": SHUTDOWN (").And.Contain("gone, delete finished");
        _fake.RequestsTo("DELETE", $"/instances/{instance.Body["id"]}").Should().ContainSingle();
    }

    [Fact]
    public async Task Trove_faults_exit_1_with_the_message_on_stderr()
    {
        _fake.AddInstance("db");
        var missing = await RunAsync("show", "nope");
        missing.Should().Be(new CliRun(ExitCodes.ApiRefused, "", "ERROR: No instance with a name or ID of 'nope' exists.\n"));

        var refused = await RunAsync("resize-volume", "db", "1");
        refused.Code.Should().Be(ExitCodes.ApiRefused);
        refused.Err.Should().Be("ERROR: The new volume 'size' must be larger than the current volume size of '2'. (HTTP 400)\n");

        var noDatabase = await RunAsync("database-delete", "db", "nope");
        noDatabase.Code.Should().Be(ExitCodes.ApiRefused);
        noDatabase.Err.Should().Contain("Database nope could not be found. (HTTP 404)");

        var deleteMany = await RunAsync("delete", "nope", "db");
        deleteMany.Code.Should().Be(ExitCodes.ApiRefused, "one of the two could not be deleted");
        deleteMany.Out.Should().Contain("Request to delete instance db has been accepted.", "the others are still deleted");
    }

    [Fact]
    public async Task Names_resolve_to_ids_through_the_paginated_list_and_ambiguous_names_are_refused()
    {
        var first = _fake.AddInstance("twin");
        _fake.AddInstance("twin");
        var only = _fake.AddInstance("solo");
        _fake.AddInstance("other");

        var shown = await RunAsync("--json", "show", "solo");
        shown.Code.Should().Be(0, shown.ToString());
        JsonNode.Parse(shown.Out)!["id"]!.GetValue<string>().Should().Be(only.Body["id"]!.GetValue<string>());
        _fake.Requests.Should().Contain(r => r.RawTarget.Contains("marker=", StringComparison.Ordinal), "the third instance is on the second page");

        var ambiguous = await RunAsync("show", "twin");
        ambiguous.Code.Should().Be(ExitCodes.ApiRefused);
        ambiguous.Err.Should().Contain("Multiple instance matches found for 'twin', use an ID to be more specific.");

        var byId = await RunAsync("show", first.Body["id"]!.GetValue<string>());
        byId.Code.Should().Be(0, "an id is never ambiguous");
    }

    [Fact]
    public async Task List_prints_troveclients_table_and_json_round_trips_the_apis_objects()
    {
        _fake.AddInstance("b-db", id: "22222222-0000-0000-0000-000000000000");
        _fake.AddInstance("a-db", id: "11111111-0000-0000-0000-000000000000", size: null, status: "BUILD");
        _fake.AddInstance("c-db", id: "33333333-0000-0000-0000-000000000000");

        var table = await RunAsync("list");
        table.Code.Should().Be(0, table.ToString());
        var lines = table.Out.TrimEnd().Split('\n');
        lines[1].Should().MatchRegex(@"^\| ID\s+\| Name\s+\| Datastore\s+\| Datastore Version\s+\| Status\s+\| Flavor ID\s+\| Size\s+\| Region\s+\|$");
        lines[3].Should().MatchRegex(@"^\| 11111111-0000-0000-0000-000000000000 \| a-db\s+\| mariadb\s+\| 10\.11\s+\| BUILD\s+\| 2\s+\| -\s+\| RegionOne \|$",
            "rows are ordered by id and an instance without a volume shows '-'");
        lines.Should().HaveCount(7, "rule, header, rule, three rows, rule (and nothing else)");
        lines[0].Should().MatchRegex(@"^\+-+\+").And.Be(lines[2]).And.Be(lines[^1]);

        var json = await RunAsync("list", "--json");
        json.Code.Should().Be(0, json.ToString());
        var array = JsonNode.Parse(json.Out)!.AsArray();
        array.Select(i => i!["name"]!.GetValue<string>()).Should().BeEquivalentTo("a-db", "b-db", "c-db");
        var b = array.Single(i => i!["name"]!.GetValue<string>() == "b-db")!;
        b["flavor"]!["id"]!.GetValue<string>().Should().Be("2");
        b["datastore"]!["type"]!.GetValue<string>().Should().Be("mariadb");
        b["volume"]!["size"]!.GetValue<int>().Should().Be(2);
        b["links"]!.AsArray().Should().ContainSingle("--json keeps the API's object whole");

        var show = await RunAsync("show", "b-db", "--json");
        var fromApi = _fake.Instance("22222222-0000-0000-0000-000000000000").Show()!;
        JsonNode.DeepEquals(JsonNode.Parse(show.Out), fromApi).Should().BeTrue(show.Out);
    }

    [Fact]
    public async Task Backups_are_created_waited_for_listed_shown_and_deleted()
    {
        var instance = _fake.AddInstance("db");
        var id = instance.Body["id"]!.GetValue<string>();
        var create = await RunAsync(["backup-create", "db", "nightly", "--description", "before upgrade", "--incremental", "--wait", .. Quick]);
        create.Code.Should().Be(0, create.ToString());
        _fake.RequestsTo("POST", "/backups").Single().Body!.ToJsonString()
            .Should().Be($$$"""{"backup":{"name":"nightly","incremental":1,"instance":"{{{id}}}","description":"before upgrade"}}""");
        create.Err.Should().Contain("backup nightly (").And.Contain(": BUILDING (").And.Contain("backup finished after");
        create.Out.Should().MatchRegex(@"\|\s*status\s*\|\s*COMPLETED\s*\|").And.MatchRegex(@"\|\s*datastore_version\s*\|\s*10\.11\s*\|");

        _fake.BackupScript = ["NEW", "FAILED"];
        var failed = await RunAsync(["backup-create", id, "broken", "--wait", .. Quick]);
        failed.Code.Should().Be(ExitCodes.WaitFailed, failed.ToString());

        _fake.AddBackup("older", "someone-else", "COMPLETED", "2026-11-27T19:00:00");
        var listed = await RunAsync("backup-list", "--instance-id", "db");
        listed.Code.Should().Be(0, listed.ToString());
        _fake.Requests.Should().Contain(r => r.RawTarget.EndsWith($"/backups?instance_id={id}", StringComparison.Ordinal));
        listed.Out.Should().Contain("nightly").And.Contain("broken").And.NotContain("older");
        listed.Out.Split('\n')[1].Should().MatchRegex(@"^\| ID\s+\| Instance ID\s+\| Name\s+\| Status\s+\| Parent ID\s+\| Updated\s+\|$");

        var all = await RunAsync("backup-list", "--json");
        JsonNode.Parse(all.Out)!.AsArray().Should().HaveCount(3);

        var shown = await RunAsync("backup-show", "older");
        shown.Out.Should().MatchRegex(@"\|\s*instance_id\s*\|\s*someone-else\s*\|");

        var deleted = await RunAsync(["backup-delete", "older", "--wait", .. Quick]);
        deleted.Code.Should().Be(0, deleted.ToString());
        deleted.Err.Should().Contain("gone, delete finished");
    }

    [Fact]
    public async Task Databases_users_and_root_use_troves_paths_and_bodies()
    {
        var id = _fake.AddInstance("db").Body["id"]!.GetValue<string>();

        (await RunAsync("database-create", "db", "shop", "--character_set", "utf8mb4", "--collate", "utf8mb4_bin")).Code.Should().Be(0);
        _fake.RequestsTo("POST", $"/instances/{id}/databases").Single().Body!.ToJsonString()
            .Should().Be("""{"databases":[{"name":"shop","collate":"utf8mb4_bin","character_set":"utf8mb4"}]}""");
        var databases = await RunAsync("database-list", "db");
        databases.Out.Split('\n')[3..5].Should().Equal("| audit |", "| shop  |");

        var env = Environment();
        env["TROVE_USER_PASSWORD"] = "from the environment";
        (await CliRun.RunAsync(env, "user-create", "db", "app", "--host", "10.0.0.%", "--databases", "shop", "audit")).Code.Should().Be(0);
        _fake.RequestsTo("POST", $"/instances/{id}/users").Single().Body!.ToJsonString().Should().Be(
            """{"users":[{"name":"app","password":"from the environment","databases":[{"name":"shop"},{"name":"audit"}],"host":"10.0.0.%"}]}""");
        (await RunAsync("user-create", "db", "app")).Code.Should().Be(ExitCodes.Usage, "no password anywhere");
        (await RunAsync("user-list", "db")).Out.Should().MatchRegex(@"\| app\s+\| %\s+\| shop, audit \|");
        (await RunAsync("user-delete", "db", "app", "--host", "10.0.0.1")).Code.Should().Be(0);
        _fake.RequestsTo("DELETE", "/users/").Single().RawTarget.Should().EndWith($"/instances/{id}/users/app%4010%2e0%2e0%2e1",
            "user@host is quoted as troveclient's quote_user_host does");

        var root = await RunAsync("root-enable", "db", "--root_password", "given");
        root.Out.Should().MatchRegex(@"\|\s*name\s*\|\s*root\s*\|").And.MatchRegex(@"\|\s*password\s*\|\s*generated-pw\s*\|");
        _fake.RequestsTo("POST", "/root").Single().Body!.ToJsonString().Should().Be("""{"password":"given"}""");
        (await RunAsync("root-show", "db")).Out.Should().MatchRegex(@"\|\s*is_root_enabled\s*\|\s*True\s*\|");
        JsonNode.Parse((await RunAsync("root-show", "db", "--json")).Out)!["rootEnabled"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task Configuration_groups_are_created_shown_attached_and_detached()
    {
        var id = _fake.AddInstance("db").Body["id"]!.GetValue<string>();
        var created = await RunAsync("configuration-create", "fast", """{"max_connections": 500}""", "--datastore", "mariadb", "--datastore_version", "10.11");
        created.Code.Should().Be(0, created.ToString());
        _fake.RequestsTo("POST", "/configurations").Single().Body!.ToJsonString()
            .Should().Be("""{"configuration":{"name":"fast","values":{"max_connections":500},"datastore":{"type":"mariadb","version":"10.11"}}}""");
        created.Out.Should().MatchRegex(@"\|\s*values\s*\|\s*\{""max_connections"":500\}\s*\|").And.NotContain("datastore_version_id");

        (await RunAsync("configuration-create", "bad", "[1, 2]")).Code.Should().Be(ExitCodes.Usage);
        (await RunAsync("configuration-list")).Out.Should().MatchRegex(@"\| c-1\s+\| tuned\s+\| tuned\s+\| mariadb\s+\| 10\.11\s+\|");
        (await RunAsync("configuration-show", "tuned")).Code.Should().Be(0, "a group is found by name too");

        (await RunAsync("configuration-attach", "db", "tuned")).Code.Should().Be(0);
        (await RunAsync("configuration-detach", "db")).Code.Should().Be(0);
        _fake.RequestsTo("PUT", $"/instances/{id}").Select(r => r.Body!.ToJsonString())
            .Should().Equal("""{"instance":{"configuration":"c-1"}}""", """{"instance":{"configuration":null}}""");
        (await RunAsync("configuration-delete", "c-1")).Code.Should().Be(0);
        _fake.RequestsTo("DELETE", "/configurations/c-1").Should().ContainSingle();
    }

    [Fact]
    public async Task Auth_failures_exit_4_and_an_unreachable_api_exits_3()
    {
        var wrong = await CliRun.RunAsync(Environment("not it"), "list");
        wrong.Should().Be(new CliRun(ExitCodes.AuthFailed, "", "ERROR: Invalid user name, password or project. (HTTP 401)\n"));

        _fake.RejectTokens = true;
        var expired = await RunAsync("list");
        expired.Code.Should().Be(ExitCodes.AuthFailed);
        expired.Err.Should().Contain("requires authentication");
        _fake.RejectTokens = false;

        var env = Environment();
        env["OS_AUTH_URL"] = $"http://127.0.0.1:{FreePorts.Find()}/v1.0";
        var unreachable = await CliRun.RunAsync(env, "list");
        unreachable.Code.Should().Be(ExitCodes.Unreachable);
        unreachable.Err.Should().StartWith("ERROR: cannot reach http://127.0.0.1:");

        env.Remove("OS_PASSWORD");
        var noPassword = await CliRun.RunAsync(env, "list");
        noPassword.Code.Should().Be(ExitCodes.Usage);
        noPassword.Err.Should().Contain("OS_PASSWORD");
        (await RunAsync("list", "--no-such-flag")).Code.Should().Be(ExitCodes.Usage);
        (await RunAsync("resize-volume", "db", "0")).Code.Should().Be(ExitCodes.Usage);
    }
}
