using System.Text.Json.Nodes;
using FluentAssertions;
using RabbitMQ.Client;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Messaging.Tests.Robustness;

/// <summary>Stopping, failing over between hosts, and replying to a caller whose queue is briefly missing.</summary>
public sealed class ServerLifecycleTests(BrokerFixture broker)
{
    [Fact]
    public async Task Graceful_stop_finishes_calls_in_progress_and_deletes_the_fanout_queue()
    {
        var topic = BrokerFixture.NewTopic("stop");
        var server = await CSharpServer.StartAsync(broker.Url, topic);
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(20) });
        var slow = client.CallAsync(new RpcTarget(topic), "slow", new JsonObject { ["seconds"] = 2 });
        await Task.Delay(500);
        var fanout = server.Server.FanoutQueue!;
        var depth = await broker.Broker.CtlAsync("list_queues", "-q", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged");
        depth.Split('\n').Should().Contain($"{topic}\t0\t0", "oslo acknowledges a request on receipt, before running it");

        await server.Server.StopAsync(CancellationToken.None);
        slow.IsCompleted.Should().BeTrue("stop waits for requests in progress");
        (await slow)!.GetValue<int>().Should().Be(2);
        (await broker.Broker.CtlAsync("list_queues", "-q", "--no-table-headers", "name")).Should().NotContain(fanout);

        var after = () => client.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = 1 }, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(1) });
        await after.Should().ThrowAsync<MessagingTimeoutException>("a stopped server consumes nothing");
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Hosts_are_tried_in_order_until_one_answers()
    {
        var dead = FreePorts.Find();
        var url = $"rabbit://guest:guest@127.0.0.1:{dead},guest:guest@127.0.0.1:{broker.Broker.Port}/";
        var topic = BrokerFixture.NewTopic("failover");
        await using var server = await CSharpServer.StartAsync(url, topic);
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(10) },
            logger: server.Log);
        (await client.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = "via second host" }))!.GetValue<string>().Should().Be("via second host");
        server.Log.Lines.Should().Contain(l => l.Contains($"127.0.0.1:{dead} is unreachable"));
    }

    [Fact]
    public async Task A_reply_waits_for_a_reply_queue_that_comes_back_then_gives_up()
    {
        var topic = BrokerFixture.NewTopic("lateq");
        var url = broker.Url + "?kombu_missing_consumer_retry_timeout=3";
        await using var server = await CSharpServer.StartAsync(url, topic);
        await using var raw = await RawPeer.ConnectAsync(broker.Url);
        var late = $"reply_{Guid.NewGuid():N}";
        await raw.PublishInnerAsync("trove", topic,
            $$"""{"method": "echo", "args": {"value": "late"}, "_msg_id": "m-late", "_reply_q": "{{late}}", "_unique_id": "{{MessageIds.New()}}"}""");
        await Task.Delay(1000);

        // The caller's queue appears a second later (a client reconnecting): the server is still retrying.
        var factory = new ConnectionFactory { Port = broker.Broker.Port };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(late, false, false, false, new Dictionary<string, object?> { ["x-expires"] = 1800000 });
        BasicGetResult? got = null;
        for (var i = 0; i < 40 && got is null; i++)
        {
            got = await channel.BasicGetAsync(late, autoAck: true);
            if (got is null) await Task.Delay(100);
        }
        got.Should().NotBeNull("the reply was re-sent once the queue existed");
        OsloEnvelope.Unwrap(got!.Body)["result"]!.GetValue<string>().Should().Be("late");

        await raw.PublishInnerAsync("trove", topic,
            """{"method": "echo", "args": {"value": 1}, "_msg_id": "m-gone", "_reply_q": "reply_00000000000000000000000000000000"}""");
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        server.Log.Lines.Should().Contain(l => l.Contains("m-gone") && l.Contains("Abandoning"));
    }
}
