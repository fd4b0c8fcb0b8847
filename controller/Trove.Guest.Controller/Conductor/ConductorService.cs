using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;

namespace Trove.Guest.Controller.Conductor;

/// <summary>
/// trove-conductor: an RPC server on <c>conductor_queue</c> that guests cast their reports to (guest contract §3),
/// reading each instance's encrypted reports with its key (Trove's <c>ConductorHostSerializer</c>). The RPC server
/// reconnects by itself after a broker restart.
/// </summary>
public sealed class ConductorService : IAsyncDisposable
{
    private readonly RpcServer _server;

    private ConductorService(RpcServer server, GuestKeyCache keys)
    {
        _server = server;
        Keys = keys;
    }

    /// <summary>The instances' keys as the conductor knows them.</summary>
    public GuestKeyCache Keys { get; }

    /// <summary>Reports handled so far (saved, dropped or refused): lets a caller tell when the conductor has caught up.</summary>
    public long HandledReports => _server.HandledRequests;

    /// <summary>Loads the instances' keys, connects (retrying until <paramref name="ct"/> gives up) and consumes.</summary>
    public static async Task<ConductorService> StartAsync(ConductorOptions options, StateDatabase db, ILoggerFactory loggers, CancellationToken ct)
    {
        var instances = new InstanceStore(db);
        var keys = new GuestKeyCache(instances, loggers.CreateLogger<GuestKeyCache>());
        await keys.LoadAsync(ct).ConfigureAwait(false);
        var endpoint = new ConductorEndpoint(instances, new BackupStore(db), new NotificationStore(db), keys, loggers.CreateLogger<ConductorEndpoint>());
        var server = new RpcServer(
            new RpcServerOptions { TransportUrl = options.TransportUrl, Exchange = options.Exchange, Topic = options.Topic, Server = options.Server },
            new RpcDispatcher([endpoint.Build()]), new ConductorHostSerializer(keys.CipherFor), loggers.CreateLogger<RpcServer>());
        try
        {
            await server.StartAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new ConductorService(server, keys);
    }

    /// <summary>Stops consuming and lets the reports in progress finish.</summary>
    public Task StopAsync(CancellationToken ct) => _server.StopAsync(ct);

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
