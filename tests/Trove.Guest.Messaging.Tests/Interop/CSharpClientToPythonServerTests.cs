using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Interop;

/// <summary>Our client against the real oslo.messaging server: the checks of <c>peer_selftest.sh</c> from the other side.</summary>
public sealed class CSharpClientToPythonServerTests(BrokerFixture broker) : IAsyncLifetime
{
    private readonly string _topic = BrokerFixture.NewTopic("csc");
    private PythonRpcServer _server = null!;
    private RpcClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await PythonRpcServer.StartAsync(broker.Url, _topic, "s1");
        _client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(30) });
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private RpcTarget Target(string? server = null, string? version = null) => new(_topic, server, version);

    private static string Py(JsonNode? node) => PythonJson.Dumps(node);

    [Fact]
    public async Task Echo_returns_nested_values_unchanged()
    {
        var value = JsonNode.Parse("""{"a": [1, "x", null], "b": {"c": true, "d": 1.5}}""");
        var result = await _client.CallAsync(Target(), "echo", new JsonObject { ["value"] = value });
        Py(result).Should().Be("""{"a": [1, "x", null], "b": {"c": true, "d": 1.5}}""");
    }

    [Fact]
    public async Task Add_and_direct_server_call()
    {
        Py(await _client.CallAsync(Target(), "add", new JsonObject { ["a"] = 40, ["b"] = 2 })).Should().Be("42");
        Py(await _client.CallAsync(Target(server: "s1"), "add", new JsonObject { ["a"] = 40, ["b"] = 2 })).Should().Be("42");
    }

    [Fact]
    public async Task Unicode_survives_both_ways()
    {
        var result = await _client.CallAsync(Target(), "echo", new JsonObject { ["value"] = "h\u00e9llo \u2603 \U0001F600" });
        result!.GetValue<string>().Should().Be("h\u00e9llo \u2603 \U0001F600");
    }

    [Fact]
    public async Task Remote_failure_carries_class_module_and_message()
    {
        var act = () => _client.CallAsync(Target(), "fail", new JsonObject { ["message"] = "boom" });
        var error = (await act.Should().ThrowAsync<RemoteErrorException>()).Which;
        error.ClassName.Should().Be("ValueError");
        error.Module.Should().Be("builtins");
        error.RemoteMessage.Should().Be("boom");
        error.Failure.Traceback.Should().Contain(l => l.Contains("raise ValueError(message)"));
    }

    [Fact]
    public async Task Unknown_method_is_NoSuchMethod()
    {
        var act = () => _client.CallAsync(Target(), "nope");
        var error = (await act.Should().ThrowAsync<RemoteErrorException>()).Which;
        error.ClassName.Should().Be("NoSuchMethod");
        error.Module.Should().Be("oslo_messaging.rpc.dispatcher");
        error.RemoteMessage.Should().Be("Endpoint does not support RPC method nope");
    }

    [Fact]
    public async Task Versions_are_negotiated()
    {
        var act = () => _client.CallAsync(Target(version: "2.0"), "echo", new JsonObject { ["value"] = 1 });
        (await act.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("UnsupportedVersion");
        var minor = () => _client.CallAsync(Target(version: "1.1"), "echo", new JsonObject { ["value"] = 1 });
        (await minor.Should().ThrowAsync<RemoteErrorException>()).Which.RemoteMessage
            .Should().Be("Endpoint does not support RPC version 1.1. Attempted method: echo");
        Py(await _client.CallAsync(Target(version: "1.0"), "echo", new JsonObject { ["value"] = 1 })).Should().Be("1");
    }

    [Fact]
    public async Task Context_is_flattened_and_client_timeout_added()
    {
        var ctx = new JsonObject { ["user"] = "u1", ["roles"] = new JsonArray("admin"), ["nested"] = new JsonObject { ["a"] = 1 } };
        var result = await _client.CallAsync(Target(), "context", options: new RpcCallOptions { Context = ctx });
        Py(result).Should().Be("""{"user": "u1", "roles": ["admin"], "nested": {"a": 1}, "client_timeout": null}""");
    }

    [Fact]
    public async Task Call_monitor_heartbeats_keep_a_slow_call_alive()
    {
        var result = await _client.CallAsync(Target(), "slow", new JsonObject { ["seconds"] = 3 },
            new RpcCallOptions { CallMonitorTimeout = 2, Timeout = TimeSpan.FromSeconds(10) });
        Py(result).Should().Be("3");
    }

    [Fact]
    public async Task Timeout_raises_MessagingTimeout()
    {
        var act = () => _client.CallAsync(Target(), "slow", new JsonObject { ["seconds"] = 3 }, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(1) });
        (await act.Should().ThrowAsync<MessagingTimeoutException>()).Which.Message.Should().StartWith("Timed out waiting for a reply to message ID ");
    }

    [Fact]
    public async Task Cast_and_fanout_reach_the_server()
    {
        await _client.CastAsync(Target(), "record", new JsonObject { ["value"] = "c" });
        await _client.CastAsync(new RpcTarget(_topic, Fanout: true), "record", new JsonObject { ["value"] = "f" });
        // The cast and the fanout arrive on two different queues: AMQP orders messages within a queue, not across them.
        var recorded = new List<string>();
        for (var i = 0; i < 100 && recorded.Count < 2; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            recorded = (await _client.CallAsync(Target(server: "s1"), "recorded"))!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        }
        recorded.Should().BeEquivalentTo(["c", "f"], "each cast reached the server exactly once");
    }

    [Fact]
    public async Task Concurrent_calls_share_one_client()
    {
        var calls = Enumerable.Range(0, 200).Select(i => _client.CallAsync(Target(), "add", new JsonObject { ["a"] = i, ["b"] = 1 }));
        var results = await Task.WhenAll(calls);
        results.Select(r => r!.GetValue<long>()).Should().Equal(Enumerable.Range(1, 200).Select(i => (long)i));
    }
}
