using Trove.Guest.Testing;
using System.Diagnostics;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>Crash, stop, restart and encrypted operation, each on an agent of its own.</summary>
public sealed class AgentLifecycleTests(BrokerFixture broker)
{
    [Fact]
    public async Task A_killed_server_is_reported_crashed_and_restart_brings_it_back()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync();
        var engine = (ChildProcessEngine)agent.Runtime.Engine;
        var pid = engine.ProcessId!.Value;

        using (var kill = Process.Start("kill", ["-KILL", pid.ToString()])) await kill.WaitForExitAsync();
        var seen = agent.Conductor.Statuses.Count();
        for (var tick = 0; tick < 50 && !agent.Conductor.Statuses.Skip(seen).Contains(ServiceStatus.Crashed); tick++)
        {
            await agent.Runtime.ReportStatusAsync(CancellationToken.None); // the periodic tick, without waiting whole intervals
            await Task.Delay(200);
        }
        (await agent.Conductor.WaitForStatusAsync(ServiceStatus.Crashed, TimeSpan.FromSeconds(5), seen)).Should().BeTrue();

        (await agent.CallAsync("restart")).Should().BeNull();
        engine.ProcessId.Should().NotBeNull().And.NotBe(pid);
        (await agent.Conductor.WaitForStatusAsync(ServiceStatus.Healthy, TimeSpan.FromSeconds(10), agent.Conductor.Statuses.Count() - 1)).Should().BeTrue();
        (await agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false })).Should().NotBeNull();
    }

    [Fact]
    public async Task Stop_db_reports_shutdown_and_start_with_conf_changes_applies_the_new_config()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync();
        (await agent.CallAsync("stop_db", new JsonObject { ["do_not_start_on_reboot"] = false })).Should().BeNull("the 1.0 argument is accepted");
        (await agent.Runtime.Manager.StatusAsync(CancellationToken.None)).Should().Be(ServiceStatus.Shutdown);
        File.Exists(Path.Combine(agent.Options.Guest.StateDir, "engine.stopped-on-request")).Should().BeTrue();

        var config = agent.ConfigContents.Replace("max_connections = 100", "max_connections = 123");
        (await agent.CallAsync("start_db_with_conf_changes", new JsonObject { ["config_contents"] = config, ["ds_version"] = "10.11" }, "1.1")).Should().BeNull();
        (await agent.Runtime.Manager.StatusAsync(CancellationToken.None)).Should().Be(ServiceStatus.Healthy);
        (await File.ReadAllTextAsync(Path.Combine(agent.Options.Guest.EngineConfigDir, "my.cnf"))).Should().Contain("max_connections = 123");

        // Live overrides: a dynamic variable is set at once; the override file keeps it for the next start.
        await agent.CallAsync("update_overrides", new JsonObject { ["overrides"] = new JsonObject { ["max_connections"] = 222, ["autocommit"] = true }, ["remove"] = false });
        await agent.CallAsync("apply_overrides", new JsonObject { ["overrides"] = new JsonObject { ["max_connections"] = 222 } });
        var overrides = await File.ReadAllTextAsync(Path.Combine(agent.Options.Guest.EngineConfigDir, "conf.d", "20-user-001-common.cnf"));
        overrides.Should().Contain("max_connections = 222").And.Contain("autocommit = True");
        (await agent.CallAsync("restart")).Should().BeNull();
        (await agent.Runtime.Manager.StatusAsync(CancellationToken.None)).Should().Be(ServiceStatus.Healthy);
    }

    [Fact]
    public async Task Overrides_are_validated_against_the_rules_and_static_ones_require_a_restart()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync();

        var invalid = () => agent.CallAsync("update_overrides", new JsonObject
        {
            ["overrides"] = new JsonObject { ["max_connections"] = 5, ["no_such_knob"] = 1, ["autocommit"] = "perhaps", ["sql_mode"] = "A\nB" },
            ["remove"] = false,
        });
        var error = (await invalid.Should().ThrowAsync<Messaging.Client.RemoteErrorException>()).Which;
        error.ClassName.Should().Be("ValueError");
        error.RemoteMessage.Should().Contain("max_connections: 5 is below the minimum 10").And.Contain("'no_such_knob' is not a configurable parameter")
            .And.Contain("autocommit: expected a boolean").And.Contain("sql_mode: expected a one-line string");
        File.Exists(Path.Combine(agent.Options.Guest.EngineConfigDir, "conf.d", "20-user-001-common.cnf")).Should().BeFalse("nothing is written when anything is invalid");

        var overrides = new JsonObject { ["max_connections"] = 321, ["lower_case_table_names"] = 1, ["max_allowed_packet"] = "32M" };
        await agent.CallAsync("update_overrides", new JsonObject { ["overrides"] = overrides, ["remove"] = false });
        var seen = agent.Conductor.Statuses.Count();
        await agent.CallAsync("apply_overrides", new JsonObject { ["overrides"] = overrides.DeepClone() });
        (await agent.Runtime.Manager.StatusAsync(CancellationToken.None)).Should().Be(ServiceStatus.RestartRequired);
        (await agent.Conductor.WaitForStatusAsync(ServiceStatus.RestartRequired, TimeSpan.FromSeconds(10), seen)).Should().BeTrue();

        await agent.CallAsync("restart");
        (await agent.Runtime.Manager.StatusAsync(CancellationToken.None)).Should().Be(ServiceStatus.Healthy);
    }

    [Fact]
    public async Task Rebuild_keeps_the_data_and_credentials_and_takes_the_new_configuration()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync(new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "survivor" }) });
        var seen = agent.Conductor.Statuses.Count();
        await agent.Client.CastAsync(agent.Target, "rebuild", new JsonObject
        {
            ["ds_version"] = "10.11",
            ["config_contents"] = agent.ConfigContents.Replace("max_connections = 100", "max_connections = 77"),
            ["config_overrides"] = new JsonObject { ["wait_timeout"] = 600 },
        });
        (await agent.Conductor.WaitForStatusAsync(ServiceStatus.Building, TimeSpan.FromSeconds(20), seen)).Should().BeTrue();
        (await agent.Conductor.WaitForStatusAsync(ServiceStatus.Healthy, TimeSpan.FromSeconds(60), seen + 1)).Should().BeTrue();
        (await File.ReadAllTextAsync(Path.Combine(agent.Options.Guest.EngineConfigDir, "my.cnf"))).Should().Contain("max_connections = 77");
        (await File.ReadAllTextAsync(Path.Combine(agent.Options.Guest.EngineConfigDir, "conf.d", "20-user-001-common.cnf"))).Should().Contain("wait_timeout = 600");
        PythonJson.Dumps(await agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false }))
            .Should().Contain("survivor");
    }

    [Fact]
    public async Task With_an_instance_key_everything_is_encrypted_and_still_works()
    {
        const string key = "0123456789ABCDEFabcdefGHIJKLMNOP";
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, key);
        await agent.PrepareAsync(new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "enc_db" }) });
        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy, "the conductor decrypted the heartbeats with the instance key");
        agent.Conductor.Received.First().Context["instance_id"]!.GetValue<string>().Should().Be(agent.Options.GuestId);
        (await agent.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();
        PythonJson.Dumps(await agent.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false }))
            .Should().Contain("enc_db");
    }

    [Fact]
    public async Task Prepare_without_config_contents_renders_the_shipped_template()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync(new JsonObject { ["config_contents"] = null, ["memory_mb"] = 512 });
        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        var myCnf = await File.ReadAllTextAsync(Path.Combine(agent.Options.Guest.EngineConfigDir, "my.cnf"));
        myCnf.Should().StartWith("# Rendered by trove-guest-agent for mariadb 10.11 on a 512 MB flavor.").And.Contain("innodb_buffer_pool_size = 307M");
    }

    [Fact]
    public async Task Prepare_with_a_broken_config_reports_failed_to_spawn()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        await agent.PrepareAsync(new JsonObject { ["config_contents"] = agent.ConfigContents.Replace("max_connections = 100", "no_such_option_at_all = 1") }, expectFailure: true);
        agent.Conductor.Statuses.Should().Contain(ServiceStatus.FailedToSpawn).And.NotContain(ServiceStatus.Healthy);
        File.Exists(Path.Combine(agent.Options.Guest.StateDir, ".guestagent.prepare.end")).Should().BeFalse();
    }
}
