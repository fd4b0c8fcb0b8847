using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Server;

using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Infrastructure;

/// <summary>
/// The C# twin of the Python reference server's endpoint (<c>oslo_rpc_server.py</c>): echo, add, fail, slow, context,
/// record, recorded, so the reference client's checks apply to our server unchanged.
/// </summary>
public sealed class TestEndpoints
{
    public ConcurrentQueue<JsonNode?> Recorded { get; } = new();
    public int Executions;

    public RpcEndpoint Build(string version = "1.0", string? @namespace = null) =>
        new RpcEndpoint(version, @namespace)
            .Map("echo", (r, _) => { Interlocked.Increment(ref Executions); return ValueTask.FromResult(r.Arguments["value"]?.DeepClone()); })
            .Map("add", (r, _) =>
            {
                var a = r.Arguments.Get("a", TestJson.Default.Int64);
                var b = r.Arguments.Get("b", TestJson.Default.Int64);
                return ValueTask.FromResult<JsonNode?>(a + b);
            })
            .Map("fail", (r, _) => throw RpcFailureException.ValueError(r.Arguments.Get("message", TestJson.Default.String)))
            .Map("slow", async (r, ct) =>
            {
                var seconds = r.Arguments.Get("seconds", TestJson.Default.Double);
                await Task.Delay(TimeSpan.FromSeconds(seconds), ct);
                return r.Arguments["seconds"]?.DeepClone();
            })
            .Map("context", (r, _) => ValueTask.FromResult<JsonNode?>(r.Context.DeepClone()))
            .Map("record", (r, _) =>
            {
                Interlocked.Increment(ref Executions);
                Recorded.Enqueue(r.Arguments["value"]?.DeepClone());
                return ValueTask.FromResult<JsonNode?>(null);
            })
            .Map("recorded", (_, _) => ValueTask.FromResult<JsonNode?>(new JsonArray(Recorded.Select(v => v?.DeepClone()).ToArray())))
            .Map("crash", (_, _) => throw new InvalidOperationException("unexpected state"));
}

[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class TestJson : System.Text.Json.Serialization.JsonSerializerContext;
