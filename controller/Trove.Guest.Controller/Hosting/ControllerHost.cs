using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trove.Guest.Controller.Api;
using Trove.Guest.Controller.Conductor;
using Trove.Guest.Controller.Configuration;
using Trove.Guest.Messaging.Client;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;
using Trove.Guest.State.Tasks;
using Trove.Guest.TaskManager.Backups;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.TaskManager.Configurations;
using Trove.Guest.TaskManager.Flows;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.Controller.Hosting;

/// <summary>
/// The controller's parts, started as the configuration's roles say: <c>api</c> (Trove's REST API), <c>conductor</c>
/// (guests' reports) and <c>worker</c> (task flows). All three in one process by default; each can run alone, sharing
/// the state database and the broker.
/// </summary>
public sealed class ControllerHost : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _parts = [];
    private readonly HttpClient _http = new();

    private ControllerHost()
    {
    }

    public WebApplication? Api { get; private set; }
    public ConductorService? Conductor { get; private set; }
    public TaskWorker? Worker { get; private set; }

    public static async Task<ControllerHost> StartAsync(ControllerConfig config, StateDatabase database, ILoggerFactory loggers, CancellationToken ct,
        Action<ILoggingBuilder>? apiLogging = null)
    {
        await ControllerStartup.PrepareAsync(config, database, ct).ConfigureAwait(false);
        var transportUrl = Environment.GetEnvironmentVariable(config.Messaging.TransportUrlEnv)
            ?? throw new ConfigException($"messaging.transport_url_env names {config.Messaging.TransportUrlEnv}, which is not set");
        var roles = config.Roles.ToHashSet();
        var host = new ControllerHost();
        try
        {
            if (roles.Contains("conductor"))
            {
                host.Conductor = await ConductorService.StartAsync(new ConductorOptions
                {
                    TransportUrl = transportUrl, Exchange = config.Messaging.ControlExchange, Topic = config.Messaging.ConductorTopic,
                    HeartbeatExpiry = TimeSpan.FromSeconds(config.Guest.HeartbeatExpirySeconds),
                }, database, loggers, ct).ConfigureAwait(false);
                host._parts.Add(host.Conductor);
            }
            if (roles.Contains("api") || roles.Contains("worker"))
            {
                var rpc = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = transportUrl, Exchange = config.Messaging.ControlExchange },
                    logger: loggers.CreateLogger<RpcClient>(), cancellationToken: ct).ConfigureAwait(false);
                host._parts.Add(rpc);
                var guests = new GuestClients(rpc, new GuestTimeouts
                {
                    Low = TimeSpan.FromSeconds(config.Guest.CallLowTimeoutSeconds), High = TimeSpan.FromSeconds(config.Guest.CallHighTimeoutSeconds),
                });
                var objectStore = config.ObjectStore is { } os
                    ? new ObjectStoreContext(host._http, new Uri(os.AuthUrl), os.User,
                        () => Environment.GetEnvironmentVariable(os.KeyEnv) ?? throw new ConfigException($"object_store.key_env names {os.KeyEnv}, which is not set"))
                    : null;
                var instances = new InstanceStore(database);
                var backups = new BackupStore(database);
                var notifications = new NotificationStore(database);
                var env = new FlowEnvironment
                {
                    Settings = new FlowSettings
                    {
                        TransportUrl = transportUrl, ControlExchange = config.Messaging.ControlExchange, ConductorTopic = config.Messaging.ConductorTopic,
                        TemplatesDir = config.Compute.TemplatesDir, EncryptGuestRpc = config.Messaging.EncryptGuestRpc,
                        UsageTimeout = TimeSpan.FromSeconds(config.Guest.UsageTimeoutSeconds), GuestConfig = config.Guest.Config,
                    },
                    Instances = instances, Backups = backups, Tasks = new TaskStore(database), Notifications = notifications,
                    Flavors = new FlavorStore(database), Datastores = new DatastoreStore(database), Guests = guests,
                    Compute = CreateCompute(config, transportUrl, loggers), Reports = new StoredGuestReports(instances, backups, notifications, changes: database.Changes), ObjectStore = objectStore,
                    Loggers = loggers,
                };
                host.Worker = new TaskWorker(env, TaskWorker.AllFlows(), new TaskWorkerOptions
                {
                    RunFlows = roles.Contains("worker"), Lease = TimeSpan.FromSeconds(config.Worker.LeaseSeconds),
                });
                host._parts.Add(host.Worker);
                if (roles.Contains("api"))
                {
                    var worker = host.Worker;
                    host.Api = TroveApi.Build(new ApiOptions
                    {
                        ListenUrl = config.Api.Listen, TokenLifetime = TimeSpan.FromSeconds(config.Api.TokenLifetimeSeconds),
                        HeartbeatExpiry = TimeSpan.FromSeconds(config.Guest.HeartbeatExpirySeconds),
                    }, database, logging: apiLogging, services: services =>
                    {
                        services.AddSingleton(guests);
                        services.AddSingleton(new ConfigurationRules(config.Compute.TemplatesDir));
                        services.AddSingleton(worker);
                        if (objectStore is not null) services.AddSingleton(new BackupObjects(host._http, objectStore, env.Compute.GuestUrl));
                    });
                    await host.Api.StartAsync(ct).ConfigureAwait(false);
                    host._parts.Add(host.Api);
                }
            }
            return host;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static IComputeDriver CreateCompute(ControllerConfig config, string transportUrl, ILoggerFactory loggers)
    {
        var compute = config.Compute;
        var interval = compute.ReportIntervalSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        return compute.Driver switch
        {
            "process" => new ProcessComputeDriver(new ProcessComputeOptions
            {
                AgentCommand = compute.AgentCommand, Root = compute.Root, TemplatesDir = compute.TemplatesDir,
                ReportInterval = interval ?? TimeSpan.FromSeconds(5),
            }, loggers.CreateLogger<ProcessComputeDriver>()),
            "qemu" => new QemuComputeDriver(new QemuComputeOptions
            {
                Root = compute.Root, Images = new LocalImageRegistry(compute.ImagesDir),
                Firmware = compute.Firmware switch
                {
                    "bios" => QemuFirmware.Bios,
                    "uefi" => QemuFirmware.Uefi,
                    var other => throw new ConfigException($"compute.firmware '{other}' is not known (bios, uefi)"),
                },
                Accelerator = compute.Accelerator is null or "kvm" or "tcg" ? compute.Accelerator
                    : throw new ConfigException($"compute.accelerator '{compute.Accelerator}' is not known (kvm, tcg)"),
                // What guests may reach on this host: the broker(s) and the object store, nothing else.
                HostServices = GuestReachableServices(transportUrl, config.ObjectStore?.AuthUrl),
                ReportInterval = interval ?? TimeSpan.FromSeconds(10),
            }, loggers.CreateLogger<QemuComputeDriver>()),
            var other => throw new ConfigException($"compute.driver '{other}' is not known (process, qemu)"),
        };
    }

    /// <summary>The <c>host:port</c> of every broker in the transport URL and of the object store.</summary>
    private static List<string> GuestReachableServices(string transportUrl, string? objectStoreUrl)
    {
        var services = new List<string>();
        var rest = transportUrl[(transportUrl.IndexOf("://", StringComparison.Ordinal) + 3)..];
        foreach (var part in rest.Split('/')[0].Split(','))
        {
            var hostPort = part[(part.LastIndexOf('@') + 1)..];
            if (!hostPort.Contains(':', StringComparison.Ordinal)) hostPort += ":5672";
            if (!services.Contains(hostPort)) services.Add(hostPort);
        }
        if (objectStoreUrl is not null && Uri.TryCreate(objectStoreUrl, UriKind.Absolute, out var store) && !services.Contains($"{store.Host}:{store.Port}"))
            services.Add($"{store.Host}:{store.Port}");
        return services;
    }

    /// <summary>Stops in reverse order: the API first (no new tasks), then the worker (its tasks are given back), then the rest.</summary>
    public async ValueTask DisposeAsync()
    {
        for (var i = _parts.Count - 1; i >= 0; i--)
        {
            try
            {
                await _parts[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Best effort: one part failing to stop must not keep the others running.
            }
        }
        _http.Dispose();
    }
}
