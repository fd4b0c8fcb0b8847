using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Interop;

/// <summary>What our peers put on the broker is what oslo puts there: declarations and publish properties.</summary>
public sealed class WireCompatibilityTests(BrokerFixture broker)
{
    private async Task<Dictionary<string, string>> QueuesAsync(string prefix)
    {
        var text = await broker.Broker.CtlAsync("list_queues", "-q", "--no-table-headers", "name", "durable", "auto_delete", "exclusive", "arguments");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t', 2))
            .Where(p => p[0].StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(p => p[0], p => p[1].Trim());
    }

    [Theory]
    [InlineData("", "trove")]
    [InlineData("?amqp_durable_queues=true", "trove_durable")]
    [InlineData("?rabbit_ha_queues=true&rabbit_transient_queues_ttl=600", "trove_ha")]
    public async Task Python_and_csharp_servers_share_a_topic_in_any_order(string options, string exchange)
    {
        var url = broker.Url + options;
        var topic = BrokerFixture.NewTopic("mix");
        // Python first: our declarations must match its queues exactly, or the broker answers 406 and we fail to start.
        await using var python = await PythonRpcServer.StartAsync(url, topic, "py1", "--exchange", exchange);
        await using var csharp = await CSharpServer.StartAsync(url, topic, "cs1", exchange: exchange);
        var queues = await QueuesAsync(topic);
        queues[$"{topic}.cs1"].Should().Be(queues[$"{topic}.py1"], "server queues are declared alike");
        var fanouts = queues.Where(q => q.Key.StartsWith(topic + "_fanout_", StringComparison.Ordinal)).Select(q => q.Value).ToList();
        fanouts.Should().HaveCount(2).And.OnlyContain(v => v == fanouts[0]);

        // A third peer, ours again, after both: and calls to each server and round-robin on the shared topic work.
        await using var csharp2 = await CSharpServer.StartAsync(url, topic, "cs2", exchange: exchange);
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = exchange, DefaultTimeout = TimeSpan.FromSeconds(20) });
        foreach (var server in new[] { "py1", "cs1", "cs2" })
            (await client.CallAsync(new RpcTarget(topic, server), "add", new JsonObject { ["a"] = 1, ["b"] = 2 }))!.GetValue<long>().Should().Be(3);
        await client.CastAsync(new RpcTarget(topic, Fanout: true), "record", new JsonObject { ["value"] = "everyone" });
        await Task.Delay(500);
        csharp.Endpoints.Recorded.Should().ContainSingle();
        csharp2.Endpoints.Recorded.Should().ContainSingle();
        python.Lines.Should().Contain(l => l.Contains("\"everyone\""));

        var py = await PythonRpcClient.RunAsync(url, topic, "--exchange", exchange, "--method", "add", "--args", """{"a": 2, "b": 2}""", "--count", "30", "--concurrency", "3");
        py.Output.Should().Contain("\"errors\": 0");
    }

    [Theory]
    [InlineData("", "trove")]
    [InlineData("?amqp_durable_queues=true", "trove_durable")]
    [InlineData("?rabbit_ha_queues=true", "trove_ha")]
    public async Task Queues_declared_before_the_server_hold_a_cast_for_it_and_are_deleted_after(string options, string exchange)
    {
        var url = broker.Url + options;
        var topic = BrokerFixture.NewTopic("early");
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = exchange });

        // Trove's taskmanager declares a guest's queues and casts prepare before the guest runs: the cast must wait.
        await client.DeclareServerQueuesAsync(topic, "py1");
        await client.CastAsync(new RpcTarget(topic), "record", new JsonObject { ["value"] = "sent before the server" });
        (await QueuesAsync(topic)).Keys.Should().BeEquivalentTo([topic, $"{topic}.py1"]);

        // The real oslo server redeclares the same queues (406 if any attribute differed) and gets the cast.
        await using (var python = await PythonRpcServer.StartAsync(url, topic, "py1", "--exchange", exchange))
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!python.Lines.Any(l => l.Contains("\"sent before the server\"")) && DateTime.UtcNow < deadline) await Task.Delay(100);
            python.Lines.Should().Contain(l => l.Contains("\"sent before the server\""));
        }

        await client.DeleteServerQueuesAsync(topic, "py1");
        (await QueuesAsync(topic)).Keys.Should().NotContain([topic, $"{topic}.py1"]);
        await client.DeleteServerQueuesAsync(topic, "py1");
        (await client.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = 1 }, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(1) })
            .ContinueWith(t => t.Exception?.InnerException)).Should().BeOfType<MessagingTimeoutException>("the client still works after deleting queues twice");
    }

    [Fact]
    public async Task A_refused_queue_declaration_fails_at_once_and_leaves_the_client_working()
    {
        var topic = BrokerFixture.NewTopic("refused");
        await using var durable = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url + "?amqp_durable_queues=true", Exchange = "trove_durable" });
        await using var transient = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove" });
        await durable.DeclareServerQueuesAsync(topic, "s1");

        // The same queues with other attributes: the broker answers 406, and asking again would not change that.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var act = () => transient.DeclareServerQueuesAsync(topic, "s1");
        (await act.Should().ThrowAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>()).Which.ShutdownReason!.ReplyCode.Should().Be(406);
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a refusal is not retried like a lost connection");

        // Only the declaring channel closed: the client still publishes and declares, and deleting the queues works.
        await transient.CastAsync(new RpcTarget(topic), "record", new JsonObject { ["value"] = "after the refusal" });
        await transient.DeclareServerQueuesAsync(topic + "-other", "s1");
        await transient.DeleteServerQueuesAsync(topic + "-other", "s1");
        (await QueuesAsync(topic)).Keys.Should().Contain(topic);
        await durable.DeleteServerQueuesAsync(topic, "s1");
        (await QueuesAsync(topic)).Keys.Should().BeEmpty();
    }

    [Fact]
    public async Task Requests_carry_olsos_properties_and_body()
    {
        var topic = BrokerFixture.NewTopic("props");
        await using var tap = await RawPeer.ConnectAsync(broker.Url, "trove", topic);
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove" });

        var call = () => client.CallAsync(new RpcTarget(topic, Version: "1.1"), "echo", new JsonObject { ["value"] = "h\u00e9" },
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(2), Context = new JsonObject { ["user_id"] = "u1" } });
        await call.Should().ThrowAsync<MessagingTimeoutException>("nobody serves the tapped topic");
        var (props, body) = (await tap.NextAsync(TimeSpan.FromSeconds(5)))!.Value;
        props.ContentType.Should().Be("application/json");
        props.ContentEncoding.Should().Be("utf-8");
        props.DeliveryMode.Should().Be(RabbitMQ.Client.DeliveryModes.Persistent);
        props.Priority.Should().Be(0);
        // oslo sends an empty header table. RabbitMQ.Client 7 adds its publisher-confirm sequence number when it
        // tracks confirms; Python peers ignore it (kombu hands headers over, oslo never reads them).
        props.Headers.Should().NotBeNull();
        props.Headers!.Keys.Should().BeSubsetOf(["x-dotnet-pub-seq-no"]);
        props.Expiration.Should().Be("2000");
        props.ReplyTo.Should().BeNull("oslo keeps the reply queue in the body");
        props.CorrelationId.Should().BeNull();

        var outer = JsonNode.Parse(body)!.AsObject();
        outer["oslo.version"]!.GetValue<string>().Should().Be("2.0");
        var inner = JsonNode.Parse(outer["oslo.message"]!.GetValue<string>())!.AsObject();
        inner.Select(p => p.Key).Should().Equal("method", "args", "version", "_msg_id", "_reply_q", "_timeout", "_unique_id", "_context_user_id");
        inner["_msg_id"]!.GetValue<string>().Should().MatchRegex("^[0-9a-f]{32}$");
        inner["_reply_q"]!.GetValue<string>().Should().Be(client.ReplyQueue).And.MatchRegex("^reply_[0-9a-f]{32}$");
        inner["_timeout"].Should().BeNull();
        Encoding.UTF8.GetString(body).Should().Contain("h\\\\u00e9", "the inner text is ASCII with \\u escapes, as jsonutils writes it");

        await client.CastAsync(new RpcTarget(topic), "record", new JsonObject { ["value"] = 1 });
        var cast = (await tap.NextAsync(TimeSpan.FromSeconds(5)))!.Value;
        cast.Props.Expiration.Should().BeNull("casts never expire");
        var castInner = JsonNode.Parse(JsonNode.Parse(cast.Body)!["oslo.message"]!.GetValue<string>())!.AsObject();
        castInner.Select(p => p.Key).Should().Equal("method", "args", "_unique_id");
    }
}
