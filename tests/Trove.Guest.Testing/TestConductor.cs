using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Testing;

/// <summary>A conductor endpoint that records what guests report (heartbeats, notifications), like trove-conductor would receive it.</summary>
public sealed class TestConductor : IAsyncDisposable
{
    private readonly RpcServer _server;

    private TestConductor(RpcServer server) => _server = server;

    public ConcurrentQueue<(string Method, JsonObject Args, JsonObject Context)> Received { get; } = new();

    public IReadOnlyList<string> Statuses => Received.Where(r => r.Method == "heartbeat")
        .Select(r => r.Args["payload"]!["service_status"]!.GetValue<string>()).ToList();

    public static async Task<TestConductor> StartAsync(string url, string exchange, string queue, IRpcSerializer? serializer = null)
    {
        TestConductor? self = null;
        ValueTask<JsonNode?> Record(RpcRequest r, CancellationToken _)
        {
            self!.Received.Enqueue((r.Method, (JsonObject)r.Arguments.Values.DeepClone(), (JsonObject)r.Context.DeepClone()));
            return ValueTask.FromResult<JsonNode?>(null);
        }
        var endpoint = new RpcEndpoint("1.0");
        foreach (var m in new[] { "heartbeat", "update_backup", "report_root", "notify_end", "notify_exc_info" }) endpoint.Map(m, Record);
        // One request at a time: the record keeps the order in which the guest sent its casts. With the default 64, two
        // heartbeats sent milliseconds apart (building, then failed to spawn) were sometimes recorded the other way round.
        var server = new RpcServer(new RpcServerOptions { TransportUrl = url, Exchange = exchange, Topic = queue, Server = "conductor", MaxConcurrency = 1 },
            new RpcDispatcher([endpoint]), serializer, new TestLogger());
        self = new TestConductor(server);
        await server.StartAsync(CancellationToken.None);
        return self;
    }

    /// <summary>Waits until a heartbeat with <paramref name="status"/> arrives after <paramref name="skip"/> earlier ones.</summary>
    public async Task<bool> WaitForStatusAsync(string status, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Statuses.Skip(skip).Contains(status)) return true;
            await Task.Delay(100);
        }
        return false;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
