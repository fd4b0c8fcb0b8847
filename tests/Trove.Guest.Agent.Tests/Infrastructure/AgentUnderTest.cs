using System.Text.Json.Nodes;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.Hosting;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>
/// A whole agent against a real broker, supervising a real mariadbd as its child, in its own short directory under
/// /tmp (unix socket paths are limited to 107 bytes), with a test conductor and an RPC client playing the control plane.
/// </summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;

    private AgentUnderTest(string root, AgentOptions options, AgentRuntime runtime, TestConductor conductor, RpcClient client, ILoggerFactory loggers)
    {
        Root = root;
        Options = options;
        Runtime = runtime;
        Conductor = conductor;
        Client = client;
        _loggers = loggers;
    }

    public string Root { get; }
    public AgentOptions Options { get; }
    public AgentRuntime Runtime { get; }
    public TestConductor Conductor { get; }
    public RpcClient Client { get; }
    public RpcTarget Target => new(Options.Topic, Version: "1.0");

    /// <summary>What the agent logged; failures quote it.</summary>
    public TestLogger Log { get; private init; } = null!;

    public string LogText => string.Join("\n", Log.Lines);

    public static async Task<AgentUnderTest> StartAsync(string brokerUrl, string? key = null, Func<AgentOptions, AgentOptions>? configure = null,
        Func<AgentOptions, ILoggerFactory, IDatabaseEngine>? engine = null)
    {
        var id = Guid.NewGuid().ToString();
        var root = Path.Combine("/tmp", "tga-" + id[..8]);
        Directory.CreateDirectory(root);
        var exchange = "trove";
        var conductorQueue = "trove-conductor-" + id[..8];
        var options = new AgentOptions
        {
            GuestId = id,
            DatastoreManager = "mariadb",
            DatastoreVersion = "10.11",
            InstanceRpcEncrKey = key,
            TransportUrl = brokerUrl,
            ControlExchange = exchange,
            ConductorQueue = conductorQueue,
            ReportInterval = TimeSpan.FromSeconds(1),
            StateChangeWaitTime = TimeSpan.FromSeconds(60),
            StateChangePollTime = TimeSpan.FromMilliseconds(500),
            Datastore = new DatastoreOptions
            {
                MountPoint = Path.Combine(root, "mnt"),
                DevicePath = "",
                IgnoreDbs = ["mysql", "information_schema", "performance_schema", "sys"],
            },
            Guest = new TroveGuestOptions
            {
                EngineSupervisor = EngineSupervisor.Process,
                EngineConfigDir = Path.Combine(root, "etc"),
                EngineSocket = Path.Combine(root, "m.sock"),
                EnginePort = FreePorts.Find(),
                EngineBindAddress = "127.0.0.1",
                EngineUser = "root",
                StateDir = Path.Combine(root, "state"),
                TemplatesDir = Path.Combine(RepoPaths.Root, "templates"),
            },
        };
        if (configure is not null) options = configure(options);
        var conductor = await TestConductor.StartAsync(brokerUrl, exchange, conductorQueue,
            key is null ? null : new ConductorHostSerializer(i => i == id ? new TroveCbcCipher(key) : null));
        var log = new TestLogger();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new TestLoggerProvider(log)));
        var runtime = engine is null ? new AgentRuntime(options, loggers) : new AgentRuntime(options, loggers) { EngineFactory = engine };
        await runtime.StartAsync(CancellationToken.None);
        var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = brokerUrl, Exchange = exchange, DefaultTimeout = TimeSpan.FromSeconds(60) },
            key is null ? null : SecureSerializer.ForTroveKey(key));
        return new AgentUnderTest(root, options, runtime, conductor, client, loggers) { Log = log };
    }

    /// <summary>The my.cnf a control plane would render (Trove's template shape), pointing conf.d at our directory.</summary>
    public string ConfigContents => $"""
        [client]
        port = {Options.Guest.EnginePort}

        [mysqld]
        skip-name-resolve
        innodb_buffer_pool_size = 32M
        innodb_log_file_size = 16M
        performance_schema = OFF
        max_connections = 100

        !includedir {Options.Guest.EngineConfigDir}/conf.d/
        """;

    /// <summary>
    /// Casts prepare the way the taskmanager does, with a <c>trove_notification</c> in the context, and waits for the
    /// guest's end-of-operation notification: that comes after the databases and users of the request exist (they are
    /// created after the final heartbeat, as in Trove), or with the error when prepare failed.
    /// </summary>
    public async Task PrepareAsync(JsonObject? extra = null, bool expectFailure = false, JsonObject? context = null)
    {
        var args = new JsonObject
        {
            ["packages"] = new JsonArray(),
            ["databases"] = new JsonArray(),
            ["memory_mb"] = 512,
            ["users"] = new JsonArray(),
            ["device_path"] = null,
            ["mount_point"] = Options.Datastore.MountPoint,
            ["backup_info"] = null,
            ["config_contents"] = ConfigContents,
            ["root_password"] = null,
            ["overrides"] = null,
            ["cluster_config"] = null,
            ["snapshot"] = null,
            ["modules"] = null,
            ["ds_version"] = "10.11",
        };
        foreach (var (k, v) in extra ?? []) args[k] = v?.DeepClone();
        var requestId = "req-prepare-" + Guid.NewGuid().ToString("N")[..12];
        context = (JsonObject?)context?.DeepClone() ?? [];
        context.Add("trove_notification", new JsonObject
        {
            ["request_id"] = requestId, ["server_type"] = "taskmanager", ["tenant_id"] = "p1",
            ["notification_classname"] = "trove.common.notification.DBaaSInstanceCreate",
        });
        await Client.CastAsync(new RpcTarget(Options.Topic, Version: "1.1"), "prepare", args, context);
        var deadline = DateTime.UtcNow.AddSeconds(150);
        while (DateTime.UtcNow < deadline)
        {
            var ended = Conductor.Received.FirstOrDefault(r => r.Method is "notify_end" or "notify_exc_info"
                && r.Args["serialized_notification"]?["request_id"]?.GetValue<string>() == requestId);
            if (ended.Method == "notify_end" && !expectFailure) return;
            if (ended.Method == "notify_exc_info" && expectFailure) return;
            if (ended.Method is not null)
                throw new InvalidOperationException($"prepare ended with {ended.Method} ({ended.Args.ToJsonString()}):\n{LogText}");
            await Task.Delay(100);
        }
        throw new TimeoutException($"prepare did not end in 150 s (statuses: {string.Join(", ", Conductor.Statuses)}):\n{LogText}");
    }

    /// <summary>Runs SQL as the OS root over the server's socket (as an operator would) and returns the rows, tab-separated.</summary>
    public Task<string> SqlAsync(string sql, bool columnNames = false) => MariaDbShell.RunAsync(Options.Guest.EngineSocket, sql, columnNames);

    /// <summary>One field of <c>SHOW SLAVE STATUS</c>, or null when the server is not a replica.</summary>
    public async Task<string?> SlaveStatusAsync(string field)
    {
        foreach (var line in (await SqlAsync("SHOW SLAVE STATUS\\G", columnNames: true)).Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim() == field) return line[(colon + 1)..].Trim();
        }
        return null;
    }

    public Task<JsonNode?> CallAsync(string method, JsonObject? args = null, string version = "1.0") =>
        Client.CallAsync(new RpcTarget(Options.Topic, Version: version), method, args);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Runtime.DisposeAsync();
        await Conductor.DisposeAsync();
        _loggers.Dispose();
        // A test volume may still be loop-mounted under our directory.
        if (File.ReadAllText("/proc/self/mounts").Contains(" " + Options.Datastore.MountPoint + " "))
        {
            using var umount = System.Diagnostics.Process.Start("umount", [Options.Datastore.MountPoint]);
            await umount.WaitForExitAsync();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
