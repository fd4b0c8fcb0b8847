using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Controller.Conductor;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.State.Notifications;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Conductor;

/// <summary>
/// A conductor on a fresh SQLite state database and a topic of its own, with what guests need to report to it: a
/// catalog to create instances from, and senders (our RPC client with Trove's guest serializer, and the real Python
/// guest code).
/// </summary>
public sealed class ConductorHarness : IAsyncDisposable
{
    private readonly string _dir;
    private readonly ILoggerFactory _loggers;
    private readonly RpcClient _client;
    private string _project = "";
    private string _version = "";

    private ConductorHarness(string dir, string url, string topic, StateDatabase db, TestLogger log, ILoggerFactory loggers, RpcClient client)
    {
        _dir = dir;
        Url = url;
        Topic = topic;
        Db = db;
        Log = log;
        _loggers = loggers;
        _client = client;
        Instances = new InstanceStore(db);
        Backups = new BackupStore(db);
        Notifications = new NotificationStore(db);
        Reports = new StoredGuestReports(Instances, Backups, Notifications, TimeSpan.FromMilliseconds(20));
    }

    public string Url { get; }
    public string Topic { get; }
    public StateDatabase Db { get; }
    public TestLogger Log { get; }
    public InstanceStore Instances { get; }
    public BackupStore Backups { get; }
    public NotificationStore Notifications { get; }
    public StoredGuestReports Reports { get; }
    public ConductorService Conductor { get; private set; } = null!;

    public static async Task<ConductorHarness> StartAsync(string url)
    {
        var dir = Directory.CreateTempSubdirectory("tgc-conductor-").FullName;
        var db = StateDatabase.Sqlite(Path.Combine(dir, "state.sqlite"));
        await new Migrator(db, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var log = new TestLogger();
        var loggers = LoggerFactory.Create(b => b.AddProvider(new TestLoggerProvider(log)));
        var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = "trove" });
        var harness = new ConductorHarness(dir, url, BrokerFixture.NewTopic("conductor"), db, log, loggers, client);
        await harness.SeedAsync();
        harness.Conductor = await ConductorService.StartAsync(
            new ConductorOptions { TransportUrl = url, Topic = harness.Topic, Server = "conductor-test" }, db, loggers, CancellationToken.None);
        return harness;
    }

    private async Task SeedAsync()
    {
        _project = await new IdentityStore(Db).CreateProjectAsync("alpha", CancellationToken.None);
        await new FlavorStore(Db).AddAsync(new Flavor("2", "m1.small", 2048, 1, 20), CancellationToken.None);
        var datastores = new DatastoreStore(Db);
        var mariadb = await datastores.AddAsync("mariadb", CancellationToken.None);
        _version = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.19", "mariadb", "image-1", null, active: true, CancellationToken.None);
    }

    /// <summary>An instance as the API creates it (service status <c>new</c>), with an RPC key or without.</summary>
    public async Task<string> CreateInstanceAsync(string? rpcKey = null, string status = InstanceServiceStatus.New)
    {
        var id = Guid.NewGuid().ToString();
        await Instances.CreateAsync(new InstanceRecord
        {
            Id = id, ProjectId = _project, Name = "db-" + id[..8], FlavorId = "2", VolumeSizeGb = 1, DatastoreVersionId = _version,
            RpcKey = rpcKey, ServiceStatus = status,
        }, CancellationToken.None);
        return id;
    }

    public async Task<string> CreateBackupAsync(string instanceId)
    {
        var id = Guid.NewGuid().ToString();
        await Backups.CreateAsync(new BackupRecord
        {
            Id = id, ProjectId = _project, InstanceId = instanceId, Name = "b-" + id[..8], DatastoreVersionId = _version,
        }, CancellationToken.None);
        return id;
    }

    public async Task<InstanceRecord> InstanceAsync(string id) =>
        await Instances.GetAsync(id, null, CancellationToken.None) ?? throw new InvalidOperationException($"instance {id} is gone");

    public async Task<BackupRecord> BackupAsync(string id) =>
        await Backups.GetAsync(id, null, CancellationToken.None) ?? throw new InvalidOperationException($"backup {id} is gone");

    /// <summary>
    /// Casts as a guest does (version 1.0, a fresh empty context): in plain text, or through Trove's
    /// ConductorGuestSerializer with <paramref name="key"/> as instance <paramref name="guestId"/>.
    /// </summary>
    public Task CastAsync(string method, JsonObject args, string? key = null, string? guestId = null)
    {
        IRpcSerializer serializer = key is null ? PlainSerializer.Instance : new ConductorGuestSerializer(new TroveCbcCipher(key), guestId!);
        return _client.CastAsync(new RpcTarget(Topic, Version: "1.0"), method, args, new JsonObject(), serializer);
    }

    public static JsonObject Heartbeat(string instanceId, string status, double sent) => new()
    {
        ["instance_id"] = instanceId, ["sent"] = sent, ["payload"] = new JsonObject { ["service_status"] = status },
    };

    /// <summary>Waits until the conductor has handled <paramref name="count"/> reports in all (saved, dropped or refused).</summary>
    public async Task WaitHandledAsync(long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Conductor.HandledReports < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the conductor handled {Conductor.HandledReports} of {count} reports\n{Log.Digest()}");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Runs python3-trove's own guest side (trove.conductor.api.API with CONF.guest_id and instance_rpc_encr_key, and
    /// EndNotification for the notifications) to send <paramref name="steps"/>; the key travels in a file (in a 0700 temporary directory), not argv.
    /// </summary>
    public async Task RunPythonGuestAsync(string guestId, string? key, JsonArray steps)
    {
        var script = Path.Combine(_dir, "python_guest.py");
        await File.WriteAllTextAsync(script, PythonGuest);
        var spec = Path.Combine(_dir, $"guest-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(spec, new JsonObject
        {
            ["url"] = Url, ["topic"] = Topic, ["guest_id"] = guestId, ["key"] = key, ["steps"] = steps,
        }.ToJsonString());
        var result = await PythonRpcClient.RunScriptAsync([script, spec], TimeSpan.FromSeconds(60));
        if (result.ExitCode != 0) throw new InvalidOperationException($"python guest failed ({result.ExitCode}): {result.Stderr}");
    }

    /// <summary>A trove_notification as the control plane puts it into a cast's context (guest contract §3.5).</summary>
    public static JsonObject NotificationContext(string requestId) => new()
    {
        ["request_id"] = requestId,
        ["trove_notification"] = new JsonObject
        {
            ["request_id"] = requestId, ["server_type"] = "guest", ["client_ip"] = "127.0.0.1", ["server_ip"] = "127.0.0.1",
            ["tenant_id"] = "alpha", ["notification_classname"] = "trove.common.notification.DBaaSInstanceCreate",
        },
    };

    private const string PythonGuest = """
        import json
        import sys
        import time

        with open(sys.argv[1]) as f:
            spec = json.load(f)

        from trove.common import cfg
        import oslo_messaging as messaging
        conf = cfg.CONF
        conf([], project='trove', default_config_files=[])
        from oslo_messaging import transport as oslo_transport
        conf.register_opts(oslo_transport._transport_opts)
        conf.set_override('transport_url', spec['url'])
        conf.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
        conf.set_override('guest_id', spec['guest_id'])
        conf.set_override('conductor_queue', spec['topic'])
        if spec.get('key'):
            conf.set_override('instance_rpc_encr_key', spec['key'])
        messaging.set_transport_defaults('trove')
        from trove import rpc
        rpc.init(conf)
        from trove.common.context import TroveContext
        from trove.common.notification import EndNotification
        from trove.conductor.api import API

        gid = spec['guest_id']
        for step in spec['steps']:
            ctx = TroveContext.from_dict(dict(step.get('context', {})))
            api = API(ctx)
            do = step['do']
            if do == 'heartbeat':
                api.heartbeat(gid, {'service_status': step['status']}, sent=step['sent'])
            elif do == 'update_backup':
                api.update_backup(gid, sent=step['sent'], **step['fields'])
            elif do == 'pause':
                time.sleep(step['seconds'])
            elif do == 'report_root':
                api.report_root(gid)
            elif do == 'notify_end':
                with EndNotification(ctx, instance_id=gid):
                    pass
            elif do == 'notify_exc_info':
                try:
                    with EndNotification(ctx):
                        raise RuntimeError(step['message'])
                except RuntimeError:
                    pass
        rpc.cleanup()
        """;

    public async ValueTask DisposeAsync()
    {
        await Conductor.DisposeAsync();
        await _client.DisposeAsync();
        _loggers.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
