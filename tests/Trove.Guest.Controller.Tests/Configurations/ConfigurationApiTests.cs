using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FluentAssertions;
using Trove.Guest.State.Configurations;

namespace Trove.Guest.Controller.Tests.Configurations;

/// <summary>
/// Configuration groups through the real <c>trove</c> client (create, list, show, patch, update, delete, parameter
/// list and show) and over HTTP for what Trove refuses: unknown parameters, wrong types and ranges (422), a missing
/// name or values that are not an object (400), another project's group (404), deleting a group in use (400).
/// </summary>
public sealed class ConfigurationApiTests(ConfigurationApiFixture api) : IClassFixture<ConfigurationApiFixture>
{
    private string Groups => $"/v1.0/{api.ProjectA}/configurations";

    private static string IdIn(string table) =>
        Regex.Match(ConfigurationApiFixture.Unquoted(table), @"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|").Groups[1].Value;

    [Fact]
    public async Task The_trove_client_creates_lists_shows_and_deletes_a_group()
    {
        var create = await api.TroveAsync(false, "configuration-create", "web-tuning", """{"max_connections": 250, "long_query_time": 2.5, "autocommit": false}""",
            "--datastore", "mariadb", "--datastore_version", "10.11", "--description", "for the web tier");
        create.ExitCode.Should().Be(0, create.StandardError);
        var id = IdIn(create.StandardOutput);
        id.Should().NotBeEmpty(create.StandardOutput);
        ConfigurationApiFixture.Unquoted(create.StandardOutput).Should().MatchRegex(@"\|\s*name\s*\|\s*web-tuning\s*\|")
            .And.MatchRegex(@"\|\s*datastore_version_name\s*\|\s*10\.11\s*\|").And.MatchRegex(@"['""]max_connections['""]: 250");

        var list = await api.TroveAsync(false, "configuration-list");
        list.ExitCode.Should().Be(0, list.StandardError);
        ConfigurationApiFixture.Unquoted(list.StandardOutput).Should()
            .MatchRegex($@"\|\s*{id}\s*\|\s*web-tuning\s*\|\s*for the web tier\s*\|\s*mariadb\s*\|\s*10\.11\s*\|");
        var bobs = await api.TroveAsync(true, "configuration-list");
        bobs.ExitCode.Should().Be(0, bobs.StandardError);
        bobs.StandardOutput.Should().NotContain(id, "groups belong to their project");

        var show = await api.TroveAsync(false, "configuration-show", id);
        show.ExitCode.Should().Be(0, show.StandardError);
        var shown = ConfigurationApiFixture.Unquoted(show.StandardOutput);
        shown.Should().MatchRegex(@"\|\s*instance_count\s*\|\s*0\s*\|").And.MatchRegex(@"\|\s*datastore_version_number\s*\|\s*10\.11\.19\s*\|")
            // The client prints the values as a Python dict.
            .And.MatchRegex(@"['""]long_query_time['""]: 2\.5").And.MatchRegex(@"['""]autocommit['""]: (False|false)");
        // By name too: the client falls back to the list when the name is not an id.
        (await api.TroveAsync(false, "configuration-show", "web-tuning")).StandardOutput.Should().Contain(id);

        var delete = await api.TroveAsync(false, "configuration-delete", id);
        delete.ExitCode.Should().Be(0, delete.StandardError);
        var gone = await api.TroveAsync(false, "configuration-show", id);
        gone.ExitCode.Should().NotBe(0);
        (await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}")).Body!["itemNotFound"]!["message"]!.GetValue<string>()
            .Should().Be($"Configuration group with ID {id} could not be found.");
    }

    [Fact]
    public async Task The_trove_client_lists_and_shows_parameters_by_datastore_and_by_version_id()
    {
        var byDatastore = await api.TroveAsync(false, "configuration-parameter-list", "--datastore", "mariadb", "10.11");
        byDatastore.ExitCode.Should().Be(0, byDatastore.StandardError);
        var table = ConfigurationApiFixture.Unquoted(byDatastore.StandardOutput);
        table.Should().MatchRegex(@"\|\s*max_connections\s*\|\s*integer\s*\|\s*10\s*\|\s*100000\s*\|\s*False\s*\|")
            .And.MatchRegex(@"\|\s*innodb_log_buffer_size\s*\|\s*integer\s*\|\s*262144\s*\|\s*4294967295\s*\|\s*True\s*\|")
            // Trove shows no min of 0 (its view drops a falsy min).
            .And.MatchRegex(@"\|\s*thread_cache_size\s*\|\s*integer\s*\|\s*-\s*\|\s*16384\s*\|")
            .And.MatchRegex(@"\|\s*autocommit\s*\|\s*boolean\s*\|\s*-\s*\|\s*-\s*\|\s*False\s*\|");

        var byVersion = await api.TroveAsync(false, "configuration-parameter-list", api.MariaDb1011);
        byVersion.ExitCode.Should().Be(0, byVersion.StandardError);
        ConfigurationApiFixture.Unquoted(byVersion.StandardOutput).Should().Be(table);

        var one = await api.TroveAsync(false, "configuration-parameter-show", "--datastore", "mariadb", "10.11", "innodb_open_files");
        one.ExitCode.Should().Be(0, one.StandardError);
        ConfigurationApiFixture.Unquoted(one.StandardOutput).Should().MatchRegex(@"\|\s*restart_required\s*\|\s*True\s*\|").And.MatchRegex(@"\|\s*min\s*\|\s*10\s*\|");
        var oneByVersion = await api.TroveAsync(false, "configuration-parameter-show", api.MariaDb1011, "wait_timeout");
        ConfigurationApiFixture.Unquoted(oneByVersion.StandardOutput).Should().MatchRegex(@"\|\s*max\s*\|\s*31536000\s*\|");

        var (status, body) = await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/datastores/mariadb/versions/10.11/parameters/no_such_thing");
        status.Should().Be(404);
        body!["itemNotFound"]!["message"]!.GetValue<string>().Should().Be("Resource no_such_thing cannot be found.");
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/datastores/versions/{Guid.NewGuid()}/parameters");
        status.Should().Be(400, "Trove maps DatastoreVersionNotFound to 400");
        (status, body) = await api.SendAsync(HttpMethod.Get, $"/v1.0/{api.ProjectA}/datastores/postgresql/versions/16/parameters");
        status.Should().Be(200);
        body!["configuration-parameters"]!.AsArray().Should().BeEmpty("PostgreSQL has no rules file");
    }

    [Fact]
    public async Task The_trove_client_patches_merging_values_and_updates_replacing_them()
    {
        var id = await api.CreateGroupAsync("merge-me", new JsonObject { ["max_connections"] = 100, ["wait_timeout"] = 600 });

        var patch = await api.TroveAsync(false, "configuration-patch", id, """{"wait_timeout": 900, "sql_mode": "STRICT_ALL_TABLES"}""");
        patch.ExitCode.Should().Be(0, patch.StandardError);
        var (_, body) = await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}");
        body!["configuration"]!["values"]!.ToJsonString().Should().Be("""{"max_connections":100,"wait_timeout":900,"sql_mode":"STRICT_ALL_TABLES"}""");

        var update = await api.TroveAsync(false, "configuration-update", id, """{"connect_timeout": 30}""", "--name", "replaced");
        update.ExitCode.Should().Be(0, update.StandardError);
        (_, body) = await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}");
        body!["configuration"]!["values"]!.ToJsonString().Should().Be("""{"connect_timeout":30}""");
        body["configuration"]!["name"]!.GetValue<string>().Should().Be("replaced");

        var refused = await api.TroveAsync(false, "configuration-patch", id, """{"max_connections": 5}""");
        refused.ExitCode.Should().NotBe(0);
        (refused.StandardOutput + refused.StandardError).Should().Contain("The value for the configuration parameter max_connections is less than the minimum allowed: 10");
        (_, body) = await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}");
        body!["configuration"]!["values"]!.ToJsonString().Should().Be("""{"connect_timeout":30}""", "a refused patch changes nothing");
    }

    public static TheoryData<string, int, string> RefusedBodies => new()
    {
        { """{"configuration": {"name": "g", "values": {"no_such_param": 1}, "datastore": {"type": "mariadb"}}}""", 422,
            "The configuration parameter no_such_param is not supported for this datastore: mariadb 10.11." },
        { """{"configuration": {"name": "g", "values": {"max_connections": "200"}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value provided for the configuration parameter max_connections is not of type integer." },
        { """{"configuration": {"name": "g", "values": {"max_connections": 20.5}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value provided for the configuration parameter max_connections is not of type integer." },
        { """{"configuration": {"name": "g", "values": {"max_connections": true}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value provided for the configuration parameter max_connections is not of type integer." },
        { """{"configuration": {"name": "g", "values": {"autocommit": 1}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value provided for the configuration parameter autocommit is not of type boolean." },
        { """{"configuration": {"name": "g", "values": {"sql_mode": 3}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value provided for the configuration parameter sql_mode is not of type string." },
        { """{"configuration": {"name": "g", "values": {"sql_mode": "ANSI\n[client]\npassword=x"}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value for the configuration parameter sql_mode must be a single line." },
        { """{"configuration": {"name": "g", "values": {"max_connections": 9}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value for the configuration parameter max_connections is less than the minimum allowed: 10" },
        { """{"configuration": {"name": "g", "values": {"max_connections": 100001}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value for the configuration parameter max_connections is greater than the maximum allowed: 100000" },
        { """{"configuration": {"name": "g", "values": {"key_buffer_size": 99999999999999999999999999999999}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value for the configuration parameter key_buffer_size is greater than the maximum allowed: 18446744073709551615" },
        { """{"configuration": {"name": "g", "values": {"long_query_time": -0.5}, "datastore": {"type": "mariadb"}}}""", 422,
            "The value for the configuration parameter long_query_time is less than the minimum allowed: 0" },
        { """{"configuration": {"name": "g", "values": {"max_connections": 100}, "datastore": {"type": "postgresql", "version": "16"}}}""", 422,
            "Configuration groups are not supported for this datastore: postgresql 16" },
        { """{"configuration": {"values": {}, "datastore": {"type": "mariadb"}}}""", 400, "Validation error: configuration 'name' is a required property" },
        { """{"configuration": {"name": "g", "datastore": {"type": "mariadb"}}}""", 400, "Validation error: configuration 'values' is a required property" },
        { """{"configuration": {"name": "g", "values": ["max_connections"], "datastore": {"type": "mariadb"}}}""", 400,
            """Validation error: configuration['values'] ["max_connections"] is not of type 'object'""" },
        { """{"configuration": {"name": "  ", "values": {}, "datastore": {"type": "mariadb"}}}""", 400,
            "Validation error: configuration['name'] '  ' does not match '^.*[0-9a-zA-Z]+.*$'" },
        { """{"configuration": {"name": "g", "values": {}}}""", 400, "Please specify datastore. No default datastore is defined." },
        { """{"configuration": {"name": "g", "values": {}, "datastore": {"type": "mariadb", "version": "10.6"}}}""", 400,
            "Datastore version '10.6' is not active." },
        { """{"configuration": {"name": "g", "values": {}, "datastore": {"type": "mariadb", "version": "9.9"}}}""", 400,
            "Datastore version '9.9' cannot be found." },
        { """{"configuration": {"name": "g", "values": {}, "datastore": {"type": "oracle"}}}""", 404, "Datastore 'oracle' cannot be found." },
        { """{"group": {"name": "g", "values": {}}}""", 400, "The request body must be an object with the key 'configuration'." },
    };

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public async Task What_Trove_refuses_is_refused_with_its_status_and_message(string body, int status, string message)
    {
        var before = (await api.SendAsync(HttpMethod.Get, Groups)).Body!["configurations"]!.AsArray().Count;
        var (answered, fault) = await api.SendAsync(HttpMethod.Post, Groups, body);
        answered.Should().Be(status, fault?.ToJsonString());
        fault!.AsObject().Single().Value!["message"]!.GetValue<string>().Should().Be(message);
        fault.AsObject().Single().Value!["code"]!.GetValue<int>().Should().Be(status);
        (await api.SendAsync(HttpMethod.Get, Groups)).Body!["configurations"]!.AsArray().Count.Should().Be(before, "nothing is stored");
    }

    [Fact]
    public async Task Names_are_matched_case_insensitively_and_stored_as_the_rules_spell_them_and_the_default_version_is_used()
    {
        var (status, body) = await api.SendAsync(HttpMethod.Post, Groups, """
            {"configuration": {"name": "upper", "values": {"MAX_CONNECTIONS": 120, "long_query_time": 3}, "datastore": {"type": "mariadb"}}}
            """);
        status.Should().Be(200, body?.ToJsonString());
        body!["configuration"]!["values"]!.ToJsonString().Should().Be("""{"max_connections":120,"long_query_time":3}""");
        body["configuration"]!["datastore_version_id"]!.GetValue<string>().Should().Be(api.MariaDb1011, "mariadb's default version");
        body["configuration"]!["created"]!.GetValue<string>().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$");
    }

    [Fact]
    public async Task Another_projects_group_is_not_found()
    {
        var id = await api.CreateGroupAsync("alphas", new JsonObject { ["max_connections"] = 100 });
        var bobs = $"/v1.0/{api.ProjectB}/configurations/{id}";
        var message = $"Configuration group with ID {id} could not be found.";
        foreach (var (method, body) in new (HttpMethod, object?)[]
                 {
                     (HttpMethod.Get, null), (HttpMethod.Put, new JsonObject { ["configuration"] = new JsonObject { ["values"] = new JsonObject() } }),
                     (HttpMethod.Patch, new JsonObject { ["configuration"] = new JsonObject { ["values"] = new JsonObject() } }), (HttpMethod.Delete, null),
                 })
        {
            var (status, fault) = await api.SendAsync(method, bobs, body, asBob: true);
            status.Should().Be(404, $"{method} of another project's group");
            fault!["itemNotFound"]!["message"]!.GetValue<string>().Should().Be(message);
        }
        (await api.SendAsync(HttpMethod.Get, bobs + "/instances", asBob: true)).Status.Should().Be(404);
        // Alice's own path with bob's token is the middleware's 403.
        (await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}", asBob: true)).Status.Should().Be(403);
        var (_, mine) = await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}");
        mine!["configuration"]!["values"]!.ToJsonString().Should().Be("""{"max_connections":100}""", "bob's attempts changed nothing");
    }

    [Fact]
    public async Task A_group_in_use_is_not_deleted_and_lists_its_instances()
    {
        var id = await api.CreateGroupAsync("in-use", new JsonObject { ["wait_timeout"] = 120 });
        var instance = await api.AddInstanceAsync(api.ProjectA, "db-1", id);

        var (status, body) = await api.SendAsync(HttpMethod.Delete, $"{Groups}/{id}");
        status.Should().Be(400);
        body!["badRequest"]!["message"]!.GetValue<string>().Should().Be(
            "A configuration group cannot be deleted if it is associated with one or more non-terminated instances. "
            + "Detach the configuration group from all non-terminated instances and please try again.");

        var instances = await api.TroveAsync(false, "configuration-instances", id);
        instances.ExitCode.Should().Be(0, instances.StandardError);
        ConfigurationApiFixture.Unquoted(instances.StandardOutput).Should().MatchRegex($@"\|\s*{instance.Id}\s*\|\s*db-1\s*\|");
        (await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}")).Body!["configuration"]!["instance_count"]!.GetValue<int>().Should().Be(1);

        // Once the instance is gone (deleted), so is the obstacle.
        await new Trove.Guest.State.Instances.InstanceStore(api.Database).MarkDeletedAsync(instance.Id, CancellationToken.None);
        (await api.SendAsync(HttpMethod.Delete, $"{Groups}/{id}")).Status.Should().Be(202);
        (await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}")).Status.Should().Be(404);
    }

    [Fact]
    public async Task Sql_looking_names_are_refused_and_sql_looking_values_are_stored_verbatim()
    {
        const string name = "x'); DROP TABLE configurations; --";
        var (status, body) = await api.SendAsync(HttpMethod.Post, Groups, new JsonObject
        {
            ["configuration"] = new JsonObject
            {
                ["name"] = "evil", ["values"] = new JsonObject { [name] = 1 }, ["datastore"] = new JsonObject { ["type"] = "mariadb" },
            },
        });
        status.Should().Be(422);
        body!["unprocessableEntity"]!["message"]!.GetValue<string>().Should().Be($"The configuration parameter {name} is not supported for this datastore: mariadb 10.11.");

        const string value = "utf8mb4'; DROP TABLE configurations; SELECT '";
        const string groupName = "g'); DELETE FROM instances; --";
        (status, body) = await api.SendAsync(HttpMethod.Post, Groups, new JsonObject
        {
            ["configuration"] = new JsonObject
            {
                ["name"] = groupName, ["description"] = "\"; DROP TABLE projects; --", ["values"] = new JsonObject { ["character_set_server"] = value },
                ["datastore"] = new JsonObject { ["type"] = "mariadb" },
            },
        });
        status.Should().Be(200, body?.ToJsonString());
        var id = body!["configuration"]!["id"]!.GetValue<string>();

        var stored = await new ConfigurationStore(api.Database).GetAsync(id, api.ProjectA, CancellationToken.None);
        stored!.Name.Should().Be(groupName);
        stored.Description.Should().Be("\"; DROP TABLE projects; --");
        stored.Values()["character_set_server"]!.GetValue<string>().Should().Be(value);
        (await api.SendAsync(HttpMethod.Get, $"{Groups}/{id}")).Body!["configuration"]!["values"]!["character_set_server"]!.GetValue<string>().Should().Be(value);
        // The tables are all still there: the list works and so does logging in.
        (await api.TroveAsync(false, "configuration-list")).ExitCode.Should().Be(0);
    }

    [Fact]
    public async Task A_body_with_a_parameter_given_twice_is_refused()
    {
        var (status, body) = await api.SendAsync(HttpMethod.Post, Groups,
            """{"configuration": {"name": "twice", "values": {"max_connections": 100, "Max_Connections": 200}, "datastore": {"type": "mariadb"}}}""");
        status.Should().Be(422, body?.ToJsonString());
        body!["unprocessableEntity"]!["message"]!.GetValue<string>().Should().Be("The configuration parameter Max_Connections is given more than once.");

        (status, body) = await api.SendAsync(HttpMethod.Post, Groups,
            """{"configuration": {"name": "twice", "values": {"max_connections": 100, "max_connections": 200}, "datastore": {"type": "mariadb"}}}""");
        status.Should().Be(400, body?.ToJsonString());
    }

    [Fact]
    public async Task The_list_pages_with_limit_and_marker()
    {
        for (var i = 0; i < 3; i++) await api.CreateGroupAsync($"page-{i}", new JsonObject());
        var all = (await api.SendAsync(HttpMethod.Get, Groups)).Body!["configurations"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
        all.Count.Should().BeGreaterThanOrEqualTo(3);

        var (_, page) = await api.SendAsync(HttpMethod.Get, $"{Groups}?limit=1&marker={all[0]}");
        page!["configurations"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().Equal(all[1]);
        page["links"]![0]!["rel"]!.GetValue<string>().Should().Be("next");
        page["links"]![0]!["href"]!.GetValue<string>().Should().EndWith($"marker={all[1]}");

        (_, page) = await api.SendAsync(HttpMethod.Get, $"{Groups}?marker={all[^2]}");
        page!["configurations"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).Should().Equal(all[^1]);
        page.AsObject().ContainsKey("links").Should().BeFalse("the last page has no next link");
    }
}
