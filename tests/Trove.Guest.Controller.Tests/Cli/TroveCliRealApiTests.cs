using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Cli;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>
/// <c>trove-guest</c> against the controller's real API (what it serves so far: the v1 login, flavors, datastores and
/// their versions), in process and as the executable with the password in its environment only.
/// </summary>
public sealed class TroveCliRealApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private Dictionary<string, string> Alice(string password = "alice's secret") => new()
    {
        ["OS_AUTH_URL"] = $"{api.BaseUrl}/v1.0", ["OS_USERNAME"] = "alice", ["OS_PASSWORD"] = password, ["OS_PROJECT_NAME"] = "alpha",
    };

    [Fact]
    public async Task Flavor_list_prints_troveclients_table_ordered_by_ram_and_the_apis_json()
    {
        var table = await CliRun.RunAsync(Alice(), "flavor-list");
        table.Code.Should().Be(0, table.ToString());
        // As prettytable does for troveclient: a column whose first row is a number (Nova's id 2) is right-aligned.
        table.Out.TrimEnd().Split('\n').Should().Equal(
            "+----------+----------+------+-------+------+-----------+",
            "|       ID | Name     |  RAM | vCPUs | Disk | Ephemeral |",
            "+----------+----------+------+-------+------+-----------+",
            "|        2 | m1.small | 2048 |     1 |   20 |         0 |",
            "| db-large | db.large | 8192 |     4 |   40 |         0 |",
            "+----------+----------+------+-------+------+-----------+");

        var json = await CliRun.RunAsync(Alice(), "flavor-list", "--json");
        json.Code.Should().Be(0, json.ToString());
        var flavors = JsonNode.Parse(json.Out)!.AsArray();
        flavors.Select(f => f!["str_id"]!.GetValue<string>()).Should().BeEquivalentTo("2", "db-large");
        flavors.Single(f => f!["str_id"]!.GetValue<string>() == "db-large")!["ram"]!.GetValue<int>().Should().Be(8192);
    }

    [Fact]
    public async Task Datastores_and_their_active_versions_are_listed_by_name()
    {
        var datastores = await CliRun.RunAsync(Alice(), "datastore-list");
        datastores.Code.Should().Be(0, datastores.ToString());
        datastores.Out.Should().MatchRegex(@"\| [0-9a-f-]{36} \| mariadb\s+\|").And.MatchRegex(@"\| [0-9a-f-]{36} \| postgresql \|");

        var versions = await CliRun.RunAsync(Alice(), "datastore-version-list", "mariadb", "--json");
        versions.Code.Should().Be(0, versions.ToString());
        var only = JsonNode.Parse(versions.Out)!.AsArray().Should().ContainSingle("the inactive 10.6 is not offered").Subject!;
        (only["id"]!.GetValue<string>(), only["name"]!.GetValue<string>()).Should().Be((api.MariaDbVersion, "10.11"));

        var missing = await CliRun.RunAsync(Alice(), "datastore-version-list", "nosuchdb");
        missing.Should().Be(new CliRun(ExitCodes.ApiRefused, "", "ERROR: Datastore 'nosuchdb' cannot be found. (HTTP 404)\n"));
    }

    [Fact]
    public async Task Instances_are_listed_and_looked_up_by_name_in_the_real_api()
    {
        var list = await CliRun.RunAsync(Alice(), "list");
        list.Code.Should().Be(0, list.ToString());
        list.Out.Split('\n')[1].Should().MatchRegex(@"^\| ID \| Name \| Datastore \| Datastore Version \| Status \| Flavor ID \| Size \| Region \|$");
        JsonNode.Parse((await CliRun.RunAsync(Alice(), "list", "--json")).Out)!.AsArray().Should().BeEmpty("alpha has no instances");

        var missing = await CliRun.RunAsync(Alice(), "show", "nope");
        missing.Should().Be(new CliRun(ExitCodes.ApiRefused, "", "ERROR: No instance with a name or ID of 'nope' exists.\n"));
    }

    [Fact]
    public async Task A_wrong_password_or_project_exits_4()
    {
        var wrong = await CliRun.RunAsync(Alice("not it"), "flavor-list");
        wrong.Code.Should().Be(ExitCodes.AuthFailed, wrong.ToString());
        wrong.Err.Should().Be("ERROR: Invalid user name, password or project. (HTTP 401)\n");

        var beta = Alice();
        beta["OS_PROJECT_NAME"] = "beta";
        (await CliRun.RunAsync(beta, "datastore-list")).Code.Should().Be(ExitCodes.AuthFailed, "alice is not in beta");
    }

    [Fact]
    public async Task The_trove_guest_executable_takes_the_password_from_the_environment_only()
    {
        var exe = Path.Combine(AppContext.BaseDirectory, "trove-guest");
        var result = await CliWrap.Cli.Wrap(exe)
            .WithArguments(["--os-auth-url", $"{api.BaseUrl}/v1.0", "--os-username", "alice", "--os-tenant-name", "alpha", "flavor-list", "--json"])
            .WithEnvironmentVariables(e => e.Set("OS_PASSWORD", "alice's secret").Set("OS_AUTH_URL", null).Set("OS_USERNAME", null)
                .Set("OS_PROJECT_NAME", null).Set("OS_TENANT_NAME", null).Set("OS_JSON_OUTPUT", null).Set("TROVE_BYPASS_URL", null))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        result.ExitCode.Should().Be(0, result.StandardError);
        JsonNode.Parse(result.StandardOutput)!.AsArray().Should().HaveCount(2);
        result.StandardError.Should().BeEmpty();
    }
}
