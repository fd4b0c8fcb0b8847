using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// Our agent driven by python3-trove's own guest API client class (trove.guestagent.api.API), wired as the
/// taskmanager wires it, with the instance key and without.
/// </summary>
public sealed class TroveGuestApiClientTests(BrokerFixture broker)
{
    [Theory]
    [InlineData(null)]
    [InlineData("0123456789ABCDEFabcdefGHIJKLMNOP")]
    public async Task Troves_guest_api_client_drives_the_agent(string? key)
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, key);
        var config = Path.Combine(agent.Root, "config_contents.cnf");
        await File.WriteAllTextAsync(config, agent.ConfigContents);
        string[] args = [Path.Combine(AppContext.BaseDirectory, "interop", "trove_guest_api_driver.py"),
            "--url", broker.Url, "--guest-id", agent.Options.GuestId, "--config-contents-file", config, .. key is null ? Array.Empty<string>() : ["--key", key]];
        var run = await PythonRpcClient.RunScriptAsync(args, TimeSpan.FromMinutes(4));

        var steps = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(o => o["step"]!.GetValue<string>());
        steps.Values.Where(s => s.ContainsKey("error")).Should().BeEmpty($"every step succeeds (statuses: {string.Join(", ", agent.Conductor.Statuses.Distinct())}; agent log {agent.Log.Digest()}; driver stderr: {run.Stderr[^Math.Min(run.Stderr.Length, 800)..]})");
        steps["prepare"]["result"]!.GetValue<string>().Should().Be("prepared");
        steps["rpc_ping"]["result"]!.GetValue<bool>().Should().BeTrue();
        steps["list_databases"]["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Contain("py_db");
        steps["list_users"]["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Contain("py_user");
        steps["list_access"]["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("py_db");
        steps["enable_root"]["result"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("_databases", "_host", "_is_root", "_name", "_password");
        steps["is_root_enabled"]["result"]!.GetValue<bool>().Should().BeTrue();
        steps["get_volume_info"]["result"]!.AsArray().Select(n => n!.GetValue<string>())
            .Should().Equal("block_size", "free", "free_blocks", "total", "total_blocks", "used");
        steps["rpc_ping_after_restart"]["result"]!.GetValue<bool>().Should().BeTrue();
        run.ExitCode.Should().Be(0);

        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Building).And.Contain(ServiceStatus.Healthy);
    }
}
