using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// How the agent uses the engine's supervisor. A start may return well after the server answers (systemctl waits for
/// READY=1 and ExecStartPost): prepare goes on as soon as the server answers, and a start that fails before that fails
/// prepare. A heartbeat asks the supervisor only when the server does not answer. Real agent, broker and mariadbd; the
/// engine is the child-process one, wrapped to return from its start the way systemctl does and to count its queries.
/// </summary>
public sealed class EngineSupervisorTests(BrokerFixture broker)
{
    /// <summary>Starts the real server at once, and returns from the start only when the test says so.</summary>
    private sealed class LateReturningEngine(ChildProcessEngine inner, Exception? failure = null) : IDatabaseEngine
    {
        public ChildProcessEngine Inner => inner;

        public TaskCompletionSource Return { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Starts { get; private set; }

        public int StateQueries { get; set; }

        public Task<EngineState> GetStateAsync(CancellationToken ct)
        {
            StateQueries++;
            return inner.GetStateAsync(ct);
        }

        public async Task StartAsync(CancellationToken ct)
        {
            Starts++;
            if (failure is not null)
            {
                await Task.Delay(300, ct);
                throw failure;
            }
            await inner.StartAsync(ct);
            await Return.Task.WaitAsync(ct);
        }

        public Task StopAsync(CancellationToken ct) => inner.StopAsync(ct);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static ChildProcessEngine Child(AgentOptions options, ILoggerFactory loggers) => new(options, loggers.CreateLogger<ChildProcessEngine>());

    [Fact]
    public async Task Prepare_goes_on_once_the_server_answers_while_its_start_has_not_returned()
    {
        LateReturningEngine? engine = null;
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, engine: (o, l) => engine = new LateReturningEngine(Child(o, l)));

        await agent.PrepareAsync(new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "early" }) });

        engine!.Return.Task.IsCompleted.Should().BeFalse("the start has not returned yet");
        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        (await agent.SqlAsync("SHOW DATABASES LIKE 'early'")).Trim().Should().Be("early");
        engine.Return.SetResult();
    }

    [Fact]
    public async Task A_heartbeat_asks_the_supervisor_only_when_the_server_does_not_answer()
    {
        LateReturningEngine? engine = null;
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, engine: (o, l) => engine = new LateReturningEngine(Child(o, l)));
        await agent.PrepareAsync();
        engine!.Return.SetResult();

        engine.StateQueries = 0;
        var seen = agent.Conductor.Statuses.Count();
        for (var i = 0; i < 3; i++) await agent.Runtime.ReportStatusAsync(CancellationToken.None);
        engine.StateQueries.Should().Be(0, "a server that answers os_admin is running; systemctl is a process per heartbeat");

        // The server goes away behind the agent's back: now the supervisor is asked, and says so.
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", engine.Inner.ProcessId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        for (var tick = 0; tick < 50 && !agent.Conductor.Statuses.Skip(seen).Contains(ServiceStatus.Crashed); tick++)
        {
            await agent.Runtime.ReportStatusAsync(CancellationToken.None);
            await Task.Delay(200);
        }
        agent.Conductor.Statuses.Skip(seen).Should().Contain(ServiceStatus.Crashed);
        engine.StateQueries.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task A_start_that_fails_before_the_server_answers_fails_prepare_with_its_error()
    {
        await using var agent = await AgentUnderTest.StartAsync(broker.Url,
            engine: (o, l) => new LateReturningEngine(Child(o, l), new InvalidOperationException("systemctl start mariadb.service failed (1): Job failed")));

        await agent.PrepareAsync(expectFailure: true);

        agent.Conductor.Statuses.Should().Contain(ServiceStatus.FailedToSpawn).And.NotContain(ServiceStatus.Healthy);
        agent.LogText.Should().Contain("Job failed");
    }
}
