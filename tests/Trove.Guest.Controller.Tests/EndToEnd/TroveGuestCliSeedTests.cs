using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Controller.Tests.Cli;

namespace Trove.Guest.Controller.Tests.EndToEnd;

/// <summary>
/// The seed's sequence again, through <c>trove-guest</c> (our CLI) with <c>--wait</c> and <c>--json</c>, against the real
/// controller: each long operation returns once it has settled, with exit code 0, and the JSON is the API's object.
/// </summary>
public sealed class TroveGuestCliSeedTests(ControllerProcess controller) : IClassFixture<ControllerProcess>
{
    private Dictionary<string, string> Environment => new()
    {
        ["OS_AUTH_URL"] = $"{controller.BaseUrl}/v1.0", ["OS_USERNAME"] = "admin", ["OS_PASSWORD"] = ControllerProcess.AdminPassword,
        ["OS_PROJECT_NAME"] = "seed",
    };

    private async Task<JsonNode> RunAsync(params string[] args)
    {
        var run = await CliRun.RunAsync(Environment, [.. args, "--json"]);
        run.Code.Should().Be(0, $"trove-guest {string.Join(' ', args)}: {run}\n{controller.Log}");
        return JsonNode.Parse(run.Out)!;
    }

    [Fact]
    public async Task The_seed_sequence_runs_through_trove_guest_with_wait()
    {
        var a = await RunAsync("create", "cli-a", "1", "--size", "1", "--databases", "shop", "--users", "app:Str0ng_pass", "--wait", "--poll-interval", "0.5");
        a["status"]!.GetValue<string>().Should().Be("ACTIVE");
        var aId = a["id"]!.GetValue<string>();
        (await controller.SqlAsync(aId, "SELECT user FROM mysql.user WHERE user = 'app'")).Should().Be("app");
        await controller.SqlAsync(aId, "CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (42);");

        var backup = await RunAsync("backup-create", "cli-a", "nightly", "--wait", "--poll-interval", "0.5");
        backup["status"]!.GetValue<string>().Should().Be("COMPLETED");
        var b = await RunAsync("create", "cli-b", "1", "--size", "1", "--backup", backup["id"]!.GetValue<string>(), "--wait", "--poll-interval", "0.5");
        (await controller.SqlAsync(b["id"]!.GetValue<string>(), "SELECT id FROM shop.t")).Should().Be("42");

        await RunAsync("create", "cli-r", "1", "--size", "1", "--replica-of", "cli-a", "--replica-count", "2", "--wait", "--poll-interval", "0.5");
        var listed = (await RunAsync("list")).AsArray();
        var replicas = listed.Where(i => i!["replica_of"]?["id"]?.GetValue<string>() == aId).Select(i => i!["id"]!.GetValue<string>()).ToList();
        replicas.Should().HaveCount(2);
        foreach (var r in replicas) await controller.WaitForInstanceAsync(r);

        var refused = await CliRun.RunAsync(Environment, "resize-volume", "cli-a", "1");
        refused.Code.Should().Be(1, refused.ToString());
        refused.Err.Should().Contain("must be larger than the current volume size");
        (await RunAsync("resize-volume", "cli-a", "2", "--wait", "--poll-interval", "0.5"))["volume"]!["size"]!.GetValue<int>().Should().Be(2);

        await RunAsync("promote-to-replica-source", replicas[0], "--wait", "--poll-interval", "0.5");
        (await RunAsync("show", "cli-a"))["replica_of"]!["id"]!.GetValue<string>().Should().Be(replicas[0]);

        foreach (var id in new[] { aId, replicas[1], b["id"]!.GetValue<string>(), replicas[0] })
        {
            var deleted = await CliRun.RunAsync(Environment, "delete", id, "--wait", "--poll-interval", "0.5");
            deleted.Code.Should().Be(0, deleted.ToString());
        }
        (await RunAsync("list")).AsArray().Should().BeEmpty();
    }
}
