using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.State.Instances;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// POST/GET/DELETE databases over HTTP against a fake guest on a real broker: the casts' shapes and context, Trove's
/// paging, its 400/404/422 answers and messages, and that a refused request never reaches the guest.
/// </summary>
[Collection(GuestApiCollection.Name)]
public sealed class DatabasesApiTests(GuestApiFixture api)
{
    private static readonly string[] MutatingMethods =
        ["create_database", "delete_database", "create_user", "delete_user", "change_passwords", "update_attributes", "grant_access", "revoke_access"];

    [Fact]
    public async Task Databases_are_created_with_Trove_schemas_and_notification_then_listed_and_deleted()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var path = api.InstancePath(instance, api.ProjectA);

        var created = await api.SendAsync(HttpMethod.Post, path + "/databases",
            """{"databases": [{"name": "app"}, {"name": "logs", "collate": "latin1_bin"}, {"name": "utf", "character_set": "utf8mb4"}]}""");
        created.Status.Should().Be(HttpStatusCode.Accepted);

        var cast = await guest!.WaitForAsync("create_database");
        cast.IsCall.Should().BeFalse("Trove casts create_database");
        // MySQLSchema.__dict__: a collation alone brings its character set; a character set alone leaves the collation to the guest.
        JsonNode.DeepEquals(cast.Arguments["databases"], JsonNode.Parse("""
            [{"_name": "app", "_collate": null, "_character_set": null},
             {"_name": "logs", "_collate": "latin1_bin", "_character_set": "latin1"},
             {"_name": "utf", "_collate": null, "_character_set": "utf8mb4"}]
            """)).Should().BeTrue(cast.Arguments.ToJsonString());
        var notification = cast.Context["trove_notification"]!.AsObject();
        ((string?)notification["notification_classname"]).Should().Be("trove.common.notification.DBaaSDatabaseCreate");
        ((string?)notification["server_type"]).Should().Be("guest");
        ((string?)notification["tenant_id"]).Should().Be(api.ProjectA);
        ((string?)notification["instance_id"]).Should().Be(instance.Id);
        ((string?)notification["dbname"]).Should().Be("app.logs.utf", "Trove joins the names with '.'");
        ((string?)notification["request_id"]).Should().StartWith("req-");
        // Before the cast, Trove asked whether each name exists (a one-item page from the name, marker included).
        guest.Calls.Where(c => c.Method == "list_databases").Select(c => (string?)c.Arguments["marker"]).Should().Equal("app", "logs", "utf");

        var list = await api.SendAsync(HttpMethod.Get, path + "/databases");
        list.Status.Should().Be(HttpStatusCode.OK);
        Names(list.Body, "databases").Should().Equal("app", "logs", "utf");
        list.Body.TryGetProperty("links", out _).Should().BeFalse("Trove adds links only when there is a next page");

        var deleted = await api.SendAsync(HttpMethod.Delete, path + "/databases/logs");
        deleted.Status.Should().Be(HttpStatusCode.Accepted);
        var delete = await guest.WaitForAsync("delete_database");
        JsonNode.DeepEquals(delete.Arguments["database"], JsonNode.Parse("""{"_name": "logs", "_collate": null, "_character_set": null}""")).Should().BeTrue();
        ((string?)delete.Context["trove_notification"]!["notification_classname"]).Should().Be("trove.common.notification.DBaaSDatabaseDelete");
    }

    public static TheoryData<string, string> HostileDatabases => new()
    {
        { "x'; DROP DATABASE mysql; --", "'x'; DROP DATABASE mysql; --' is not a valid schema name." },
        { "`evil`", "'`evil`' is not a valid schema name." },
        { "a\\\" OR 1=1", "'a\\\" OR 1=1' is not a valid schema name." },
        { "db`; DROP TABLE t; --`", "'db`; DROP TABLE t; --`' is not a valid schema name." },
        { "a\u0000b", "'a\u0000b' is not a valid schema name." },
        { "mysql", "Database name \"mysql\" is on the reserved list: ['mysql', 'information_schema', 'performance_schema', 'sys']." },
        { "sys", "Database name \"sys\" is on the reserved list: ['mysql', 'information_schema', 'performance_schema', 'sys']." },
        { new string('a', 65), $"Schema name '{new string('a', 65)}' is too long. Max length = 64." },
        { "", "Validation error: databases[0]['name'] '' should be non-empty; databases[0]['name'] '' does not match '^.*[0-9a-zA-Z]+.*$'" },
        { "a\nb", "Validation error: databases[0]['name'] 'a\\nb' does not match '^.*[0-9a-zA-Z]+.*$'" },
        { "___", "Validation error: databases[0]['name'] '___' does not match '^.*[0-9a-zA-Z]+.*$'" },
    };

    [Theory]
    [MemberData(nameof(HostileDatabases))]
    public async Task Hostile_or_reserved_database_names_get_400_and_never_reach_the_guest(string name, string message)
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var path = api.InstancePath(instance, api.ProjectA);
        var body = new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["name"] = "fine" }, new JsonObject { ["name"] = name }) }.ToJsonString();
        var answer = await api.SendAsync(HttpMethod.Post, path + "/databases", body);
        answer.Status.Should().Be(HttpStatusCode.BadRequest);
        // The schema's paths count from the request's list: the bad name is the second entry.
        answer.FaultMessage("badRequest").Should().Be(message.Replace("databases[0]", "databases[1]"));
        answer.Body.GetProperty("badRequest").GetProperty("code").GetInt32().Should().Be(400);

        // A name that passes Trove's schema but not its MySQL rules is refused on delete too (the others are fine to delete).
        if (!message.StartsWith("Validation error", StringComparison.Ordinal) && !name.Any(char.IsControl))
        {
            var delete = await api.SendAsync(HttpMethod.Delete, $"{path}/databases/{Uri.EscapeDataString(name)}");
            delete.Status.Should().Be(HttpStatusCode.BadRequest, delete.Body.ToString());
            delete.FaultMessage("badRequest").Should().StartWith("Database delete error: ");
        }

        await Task.Delay(200);
        guest!.Calls.Should().BeEmpty("nothing of a refused request goes to the guest");
    }

    [Fact]
    public async Task Character_sets_and_collations_are_Troves_lists_only()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var path = api.InstancePath(instance, api.ProjectA) + "/databases";
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "a1", "character_set": "utf8'; DROP DATABASE x; --"}]}"""))
            .FaultMessage("badRequest").Should().Be("'utf8'; DROP DATABASE x; --' not a valid character set.");
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "a1", "collate": "nocase"}]}"""))
            .FaultMessage("badRequest").Should().Be("'nocase' not a valid collation.");
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "a1", "character_set": "latin1", "collate": "utf8_bin"}]}"""))
            .FaultMessage("badRequest").Should().Be("utf8_bin not a valid collation for charset latin1.");
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "a1"}, {"name": "a1"}]}"""))
            .FaultMessage("badRequest").Should().Be("Two or more databases share the same name in the initial databases list. Please correct the names or remove the duplicate entries.");
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "ok"}, {"name": "a", "collate": 5}, {}]}"""))
            .FaultMessage("badRequest").Should().Be("Validation error: databases[1]['collate'] 5 is not of type 'string'; databases[2] 'name' is a required property");
        (await api.SendAsync(HttpMethod.Post, path, """{"databases": {"name": "x"}}"""))
            .FaultMessage("badRequest").Should().Be("Validation error: databases {'name': 'x'} is not of type 'array'");
        (await api.SendAsync(HttpMethod.Post, path, "{not json")).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Post, path, "")).FaultMessage("badRequest").Should().Be("Validation error: 'databases' is a required property");
        (await api.SendAsync(HttpMethod.Post, path, $$"""{"databases": [{"name": "{{new string('a', 1 << 20)}}"}]}""")).Status
            .Should().Be(HttpStatusCode.RequestEntityTooLarge);
        await Task.Delay(200);
        guest!.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task Listing_pages_as_Trove_and_hides_reserved_databases()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        foreach (var name in Enumerable.Range(0, 25).Select(i => $"db{i:00}").Append("mysql").Append("sys")) guest!.AddDatabase(name);
        var path = api.InstancePath(instance, api.ProjectA) + "/databases";

        var first = await api.SendAsync(HttpMethod.Get, path);
        Names(first.Body, "databases").Should().Equal(Enumerable.Range(0, 20).Select(i => $"db{i:00}"));
        var next = first.Body.GetProperty("links").EnumerateArray().Single();
        next.GetProperty("rel").GetString().Should().Be("next");
        var href = new Uri(next.GetProperty("href").GetString()!);
        href.AbsolutePath.Should().Be(path);
        href.Query.Should().Be("?marker=db19");

        var second = await api.SendAsync(HttpMethod.Get, path + href.Query);
        Names(second.Body, "databases").Should().Equal("db20", "db21", "db22", "db23", "db24");
        second.Body.TryGetProperty("links", out _).Should().BeFalse();
        guest!.Calls.Where(c => c.Method == "list_databases").Select(c => ((int?)c.Arguments["limit"], (string?)c.Arguments["marker"], (bool?)c.Arguments["include_marker"]))
            .Should().Equal((20, null, false), (20, "db19", false));

        var small = await api.SendAsync(HttpMethod.Get, path + "?limit=3&marker=db10");
        Names(small.Body, "databases").Should().Equal("db11", "db12", "db13");
        new Uri(small.Body.GetProperty("links")[0].GetProperty("href").GetString()!).Query.Should().Be("?limit=3&marker=db13");
        (await api.SendAsync(HttpMethod.Get, path + "?limit=500")).Body.GetProperty("databases").GetArrayLength().Should().Be(20, "Trove caps limit at the page size");
        (await api.SendAsync(HttpMethod.Get, path + "?limit=many")).Status.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_existing_database_is_400_and_a_missing_one_404()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.AddDatabase("app");
        var path = api.InstancePath(instance, api.ProjectA) + "/databases";
        var exists = await api.SendAsync(HttpMethod.Post, path, """{"databases": [{"name": "app"}]}""");
        exists.Status.Should().Be(HttpStatusCode.BadRequest);
        exists.FaultMessage("badRequest").Should().Be("A database with the name \"app\" already exists.");

        var missing = await api.SendAsync(HttpMethod.Delete, path + "/nope");
        missing.Status.Should().Be(HttpStatusCode.NotFound);
        missing.FaultMessage("itemNotFound").Should().Be("Database nope cannot be found on the instance.");
        (await api.SendAsync(HttpMethod.Delete, path + "/mysql")).FaultMessage("badRequest")
            .Should().Be("Database delete error: Cannot delete database: Database name \"mysql\" is on the reserved list: ['mysql', 'information_schema', 'performance_schema', 'sys'].");
        await Task.Delay(200);
        guest.Calls.Select(c => c.Method).Should().NotContain(MutatingMethods);
    }

    [Fact]
    public async Task Another_projects_instance_is_404_and_its_guest_is_not_asked()
    {
        var (instance, guest) = await api.NewInstanceAsync(project: api.ProjectB);
        // alice asks for bob's instance under her own project: the same 404 as an instance that does not exist.
        var foreign = await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectA) + "/databases");
        foreign.Status.Should().Be(HttpStatusCode.NotFound);
        foreign.FaultMessage("itemNotFound").Should().Be($"Instance {instance.Id} cannot be found.");
        (await api.SendAsync(HttpMethod.Post, api.InstancePath(instance, api.ProjectA) + "/users", """{"users": [{"name": "u1", "password": "p1"}]}"""))
            .Status.Should().Be(HttpStatusCode.NotFound);
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectA) + "/root")).Status.Should().Be(HttpStatusCode.NotFound);
        // Under bob's project with alice's token: the token check refuses it first.
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectB) + "/databases")).Status.Should().Be(HttpStatusCode.Forbidden);
        (await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/instances/{Guid.NewGuid()}/databases")).Status.Should().Be(HttpStatusCode.NotFound);

        (await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectB) + "/databases", token: api.TokenB)).Status.Should().Be(HttpStatusCode.OK);
        guest!.Calls.Should().ContainSingle("only bob's own request reached his guest");
    }

    [Fact]
    public async Task An_instance_whose_database_is_not_running_is_422()
    {
        var (building, buildingGuest) = await api.NewInstanceAsync(serviceStatus: InstanceServiceStatus.Building, taskStatus: InstanceTaskStatus.Building);
        var path = api.InstancePath(building, api.ProjectA);
        var answer = await api.SendAsync(HttpMethod.Post, path + "/databases", """{"databases": [{"name": "app"}]}""");
        answer.Status.Should().Be(HttpStatusCode.UnprocessableEntity);
        answer.FaultMessage("unprocessableEntity").Should().Be($"Instance {building.Id} is not ready, status: building.");
        (await api.SendAsync(HttpMethod.Get, path + "/users")).Status.Should().Be(HttpStatusCode.UnprocessableEntity);
        (await api.SendAsync(HttpMethod.Post, path + "/root")).Status.Should().Be(HttpStatusCode.UnprocessableEntity);

        var (restarting, _) = await api.NewInstanceAsync(serviceStatus: InstanceServiceStatus.RestartRequired, withGuest: false);
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(restarting, api.ProjectA) + "/databases")).FaultMessage("unprocessableEntity")
            .Should().Be($"Instance {restarting.Id} is not ready, status: restart required.", "Trove takes running and healthy only");

        var (postgres, postgresGuest) = await api.NewInstanceAsync(postgres: true);
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(postgres, api.ProjectA) + "/databases")).FaultMessage("unprocessableEntity")
            .Should().Be("Operation not supported for datastore postgresql.");
        (await api.SendAsync(HttpMethod.Get, api.InstancePath(postgres, api.ProjectA) + "/root")).Status.Should().Be(HttpStatusCode.OK, "root serves PostgreSQL too");

        await Task.Delay(200);
        buildingGuest!.Calls.Should().BeEmpty();
        postgresGuest!.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task A_failing_or_silent_guest_is_Troves_GuestError()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.FailingMethod = "list_databases";
        var failed = await api.SendAsync(HttpMethod.Get, api.InstancePath(instance, api.ProjectA) + "/databases");
        failed.Status.Should().Be(HttpStatusCode.BadRequest);
        failed.FaultMessage("badRequest").Should().Be("An error occurred communicating with the guest: list_databases failed on purpose.");

        var (silent, _) = await api.NewInstanceAsync(withGuest: false);
        var timedOut = await api.SendAsync(HttpMethod.Post, api.InstancePath(silent, api.ProjectA) + "/databases", """{"databases": [{"name": "app"}]}""");
        timedOut.Status.Should().Be(HttpStatusCode.BadRequest);
        timedOut.FaultMessage("badRequest").Should().MatchRegex("^An error occurred communicating with the guest: Timed out waiting for a reply to message ID \\S+\\.$");
    }

    internal static IEnumerable<string> Names(JsonElement body, string key) => body.GetProperty(key).EnumerateArray().Select(e => e.GetProperty("name").GetString()!);
}
