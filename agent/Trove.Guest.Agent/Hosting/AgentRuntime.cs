using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Api;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.Managers.Mysql;
using Trove.Guest.Agent.Managers.Mysql.Replication;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Hosting;

/// <summary>
/// The running agent: the conductor client, the engine, the manager and the guest API's RPC server, wired together.
/// <see cref="StartAsync"/> returns once the server consumes from its topic (the moment systemd hears READY).
/// </summary>
public sealed class AgentRuntime(AgentOptions options, ILoggerFactory loggers) : IAsyncDisposable
{
    /// <summary>Makes the engine; by default from <c>engine_supervisor</c>. Tests put a supervisor of their own here.</summary>
    internal Func<AgentOptions, ILoggerFactory, IDatabaseEngine> EngineFactory { get; init; } = DefaultEngine;

    private static IDatabaseEngine DefaultEngine(AgentOptions options, ILoggerFactory loggers) =>
        options.Guest.EngineSupervisor == EngineSupervisor.Process
            ? new ChildProcessEngine(options, loggers.CreateLogger<ChildProcessEngine>())
            : new SystemdUnitEngine(options, loggers.CreateLogger<SystemdUnitEngine>());

    private RpcClient? _conductorTransport;
    private RpcServer? _server;
    private IDatabaseEngine? _engine;

    public MysqlManager Manager { get; private set; } = null!;
    public StatusReporter Status { get; private set; } = null!;
    public IDatabaseEngine Engine => _engine ?? throw new InvalidOperationException("not started");

    public async Task StartAsync(CancellationToken ct)
    {
        _conductorTransport = await RpcClient.ConnectAsync(
            new RpcClientOptions { TransportUrl = options.TransportUrl, Exchange = options.ControlExchange },
            ConductorClient.SerializerFor(options), loggers.CreateLogger("Trove.Guest.Agent.Conductor.Transport"), ct).ConfigureAwait(false);
        var conductor = new ConductorClient(_conductorTransport, options, loggers.CreateLogger<ConductorClient>());
        Status = new StatusReporter(options, conductor, loggers.CreateLogger<StatusReporter>());
        _engine = EngineFactory(options, loggers);
        var volumes = new VolumeManager(options, loggers.CreateLogger<VolumeManager>());
        var mariaDb = options.DatastoreManager == "mariadb" || options.Guest.EngineBinary.Contains("mariadb", StringComparison.Ordinal);
        var backups = new MysqlBackups(options, conductor, mariaDb, loggers.CreateLogger<MysqlBackups>());
        Manager = new MysqlManager(options, _engine, Status, volumes, backups, loggers.CreateLogger<MysqlManager>());
        await Manager.InitializeAsync(ct).ConfigureAwait(false);
        await backups.FailInterruptedAsync(ct).ConfigureAwait(false);

        var replication = new MysqlReplication(options, Manager, backups, GtidReplication.For(options.DatastoreManager, mariaDb),
            loggers.CreateLogger<MysqlReplication>());
        var api = new GuestApi(options, Manager, backups, replication, volumes, new Modules.ModuleStore(options), conductor, loggers.CreateLogger<GuestApi>());
        IRpcSerializer serializer = options.InstanceRpcEncrKey is { } key ? SecureSerializer.ForTroveKey(key) : PlainSerializer.Instance;
        _server = new RpcServer(
            new RpcServerOptions { TransportUrl = options.TransportUrl, Exchange = options.ControlExchange, Topic = options.Topic, Server = options.GuestId },
            new RpcDispatcher([api.Build()]), serializer, loggers.CreateLogger<RpcServer>());
        await _server.StartAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Guest API requests handled so far.</summary>
    public long HandledRequests => _server?.HandledRequests ?? 0;

    public bool HasRequestsInFlight => _server?.RequestsInFlight > 0;

    /// <summary>One periodic tick: a heartbeat with the current status, once prepare has completed.</summary>
    public async Task ReportStatusAsync(CancellationToken ct)
    {
        if (!Status.IsPrepared) return;
        await Status.ReportAsync(await Manager.StatusAsync(ct).ConfigureAwait(false), force: false, ct).ConfigureAwait(false);
    }

    /// <summary>Stops taking requests and lets those in progress finish. The database keeps running.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (_server is not null) await _server.StopAsync(ct).ConfigureAwait(false);
        if (_conductorTransport is not null) await _conductorTransport.DisposeAsync().ConfigureAwait(false);
        _server = null;
        _conductorTransport = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        // A child-process engine stops its server (it cannot outlive its supervisor); a systemd unit's leaves it running.
        if (_engine is not null) await _engine.DisposeAsync().ConfigureAwait(false);
    }
}
