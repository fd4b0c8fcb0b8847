using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;

using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Infrastructure;

/// <summary>Our RPC server with <see cref="TestEndpoints"/>, started for one test.</summary>
public sealed class CSharpServer : IAsyncDisposable
{
    private CSharpServer(RpcServer server, TestEndpoints endpoints, TestLogger logger)
    {
        Server = server;
        Endpoints = endpoints;
        Log = logger;
    }

    public RpcServer Server { get; }
    public TestEndpoints Endpoints { get; }
    public TestLogger Log { get; }

    public static async Task<CSharpServer> StartAsync(string url, string topic, string server = "s1",
        IRpcSerializer? serializer = null, string version = "1.0", int maxConcurrency = 64, int maxMessageBytes = 64 * 1024 * 1024,
        string exchange = "trove")
    {
        var endpoints = new TestEndpoints();
        var log = new TestLogger();
        var rpc = new RpcServer(
            new RpcServerOptions { TransportUrl = url, Exchange = exchange, Topic = topic, Server = server, MaxConcurrency = maxConcurrency, MaxMessageBytes = maxMessageBytes },
            new RpcDispatcher([endpoints.Build(version)]), serializer, log);
        await rpc.StartAsync(CancellationToken.None);
        return new CSharpServer(rpc, endpoints, log);
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
