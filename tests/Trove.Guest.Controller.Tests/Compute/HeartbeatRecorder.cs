using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Compute;

/// <summary>A minimal conductor on a topic of its own that records what a guest reports (heartbeats above all).</summary>
public sealed class HeartbeatRecorder : IAsyncDisposable
{
    private readonly RpcServer _server;

    private HeartbeatRecorder(RpcServer server) => _server = server;

    public ConcurrentQueue<(string Method, JsonObject Args)> Received { get; } = new();

    public IReadOnlyList<string> Statuses => Received.Where(r => r.Method == "heartbeat")
        .Select(r => r.Args["payload"]!["service_status"]!.GetValue<string>()).ToList();

    public static async Task<HeartbeatRecorder> StartAsync(string url, string exchange, string topic, IRpcSerializer? serializer)
    {
        HeartbeatRecorder? self = null;
        ValueTask<JsonNode?> Record(RpcRequest r, CancellationToken _)
        {
            self!.Received.Enqueue((r.Method, (JsonObject)r.Arguments.Values.DeepClone()));
            return ValueTask.FromResult<JsonNode?>(null);
        }
        var endpoint = new RpcEndpoint("1.0");
        foreach (var m in new[] { "heartbeat", "update_backup", "report_root", "notify_end", "notify_exc_info" }) endpoint.Map(m, Record);
        var server = new RpcServer(new RpcServerOptions { TransportUrl = url, Exchange = exchange, Topic = topic, Server = "conductor" },
            new RpcDispatcher([endpoint]), serializer, new TestLogger());
        self = new HeartbeatRecorder(server);
        await server.StartAsync(CancellationToken.None);
        return self;
    }

    /// <summary>Waits for a heartbeat with <paramref name="status"/> among those after the first <paramref name="skip"/>.</summary>
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
