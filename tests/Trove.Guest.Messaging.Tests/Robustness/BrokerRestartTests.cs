using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Robustness;

/// <summary>
/// The broker restarts in the middle of traffic (its own node, so other tests are not disturbed): client and server
/// reconnect and re-declare their queues, a call issued after the restart succeeds, and no cast runs twice.
/// </summary>
public sealed class BrokerRestartTests
{
    [Fact]
    public async Task Client_and_server_recover_and_no_cast_runs_twice()
    {
        await using var broker = await RabbitMqBroker.StartAsync();
        var topic = BrokerFixture.NewTopic("restart");
        await using var server = await CSharpServer.StartAsync(broker.Url, topic);
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(30) });
        var target = new RpcTarget(topic);
        (await client.CallAsync(target, "echo", new JsonObject { ["value"] = "before" }))!.GetValue<string>().Should().Be("before");

        using var stopTraffic = new CancellationTokenSource();
        var sent = 0;
        var traffic = Task.Run(async () =>
        {
            while (!stopTraffic.IsCancellationRequested)
            {
                try
                {
                    await client.CastAsync(target, "record", new JsonObject { ["value"] = $"cast-{sent}" }, cancellationToken: stopTraffic.Token);
                    sent++;
                    await Task.Delay(20, stopTraffic.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        await Task.Delay(500);
        await broker.StopNodeAsync();
        await Task.Delay(2000);
        await broker.StartNodeAsync();

        // The first call after the restart: it waits out the reconnect and succeeds.
        var after = await client.CallAsync(target, "echo", new JsonObject { ["value"] = "after" }, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) });
        after!.GetValue<string>().Should().Be("after");
        await Task.Delay(500);
        await stopTraffic.CancelAsync();
        await traffic;
        await client.CastAsync(target, "record", new JsonObject { ["value"] = "final" });
        (await client.CallAsync(target, "echo", new JsonObject { ["value"] = 1 }))!.GetValue<int>().Should().Be(1);
        await Task.Delay(300);

        var recorded = server.Endpoints.Recorded.Select(v => v!.GetValue<string>()).ToList();
        recorded.Should().OnlyHaveUniqueItems("a cast must never run twice");
        recorded.Should().Contain("final");
        recorded.Should().Contain(v => v.StartsWith("cast-"), "casts flowed before and after the restart");
        sent.Should().BeGreaterThan(10);
        server.Log.Lines.Should().Contain(l => l.Contains("recovered"));
    }
}
