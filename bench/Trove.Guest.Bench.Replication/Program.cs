using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Server;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.TaskManager.Replication;

// trove-guest-replication-bench AGENT_BINARY RABBIT_URL TEMPLATES_DIR DATA_GB
//
// Three AOT agents as processes (each supervising its own mariadbd on loopback, one local backup store), a conductor
// in this process, and the control plane's replication flows. Measured in one run:
//   reference  bare seed: mariabackup --backup --stream | mbstream -x, then --prepare (mariadb-ops §5.2 without the
//              object store: the physical bound of seeding a replica on this machine)
//   ours       create replica 1, then replica 2 (snapshot backup through create_backup, restore, attach)
//   ours       promote r1 (switchover, replicas caught up)
//   reference  the same switchover back by hand with the mariadb CLI (mariadb-ops §5.4)
//   ours       promote r1 again
//   ours       eject: r1's mariadbd and agent SIGKILLed, the most advanced replica becomes the source
// Prints one JSON line per measurement and a summary line.

var (agentBinary, url, templates, gb) = (args[0], args[1], args[2], double.Parse(args[3], CultureInfo.InvariantCulture));
var root = Directory.CreateTempSubdirectory("tgrepl-").FullName;
var conductorTopic = $"trove-conductor-replbench-{Environment.ProcessId}";
var results = new List<JsonObject>();
void Report(JsonObject r)
{
    results.Add(r);
    Console.WriteLine(r.ToJsonString());
}

await using var conductor = await BenchConductor.StartAsync(url, conductorTopic);
await using var rpc = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(60) });
var instances = new[] { "m", "r1", "r2" }.Select(n => new BenchInstance(root, n, agentBinary, url, conductorTopic, templates)).ToArray();
var (m, r1, r2) = (instances[0], instances[1], instances[2]);
try
{
    foreach (var i in instances) i.Start();
    foreach (var i in instances) await i.WaitForRpcAsync(rpc);
    var timeouts = new GuestTimeouts { High = TimeSpan.FromSeconds(600), Snapshot = TimeSpan.FromSeconds(3600) };
    GuestClient Guest(BenchInstance i) => new(rpc, i.GuestId, timeouts);

    await Guest(m).PrepareAsync(BenchInstance.PrepareArguments(m), null, CancellationToken.None);
    var status = await conductor.Reports.WaitForPrepareEndAsync(m.GuestId, TimeSpan.FromSeconds(120), CancellationToken.None);
    if (status != "healthy") throw new InvalidOperationException($"the source ended prepare with {status}");

    // DATA_GB of InnoDB: random hex text (about 2x compressible) in 4 tables, doubled up with INSERT ... SELECT.
    var load = Stopwatch.StartNew();
    var rowsPerTable = (long)(gb * 1e9 / 4 / 330);
    await m.SqlAsync("CREATE DATABASE bench;");
    for (var t = 0; t < 4; t++)
    {
        await m.SqlAsync($"CREATE TABLE bench.t{t} (id BIGINT PRIMARY KEY AUTO_INCREMENT, k INT, c CHAR(120), pad VARCHAR(160)) ENGINE=InnoDB;"
            + $"INSERT INTO bench.t{t} (k, c, pad) VALUES (1, REPEAT(MD5(RAND()), 3), CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())));");
        while (long.Parse(await m.SqlAsync($"SELECT COUNT(*) FROM bench.t{t};"), CultureInfo.InvariantCulture) < rowsPerTable)
            await m.SqlAsync($"INSERT INTO bench.t{t} (k, c, pad) SELECT FLOOR(RAND() * 1e6), REPEAT(MD5(RAND()), 3), "
                + $"CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())) FROM bench.t{t} LIMIT {rowsPerTable};");
    }
    var innodb = Directory.EnumerateFiles(Path.Combine(m.Dir, "mnt", "data", "bench")).Sum(f => new FileInfo(f).Length);
    Report(new JsonObject { ["run"] = "load", ["wall_s"] = Round(load.Elapsed), ["innodb_bytes"] = innodb });

    // Reference: the bare seed of a replica, no compression, no object store, no agent.
    var seed = Path.Combine(root, "seed");
    Directory.CreateDirectory(seed);
    var bare = Stopwatch.StartNew();
    var cnf = Path.Combine(m.Dir, "mnt", "conf.d", "os_admin.cnf");
    await Shell($"mariabackup --defaults-extra-file={cnf} --backup --stream=xbstream --parallel=2 --socket={m.Socket} --datadir={m.Dir}/mnt/data "
        + $"--target-dir={root}/tgt 2>{root}/seed.log | mbstream -x -C {seed}");
    var streamed = bare.Elapsed;
    await Shell($"mariabackup --prepare --use-memory=1G --target-dir={seed} 2>>{root}/seed.log");
    Report(new JsonObject { ["run"] = "reference: bare seed (mariabackup --stream | mbstream -x, then --prepare)", ["wall_s"] = Round(bare.Elapsed), ["stream_extract_s"] = Round(streamed) });
    Directory.Delete(seed, recursive: true);

    var configs = ReplicationConfigs.Render(templates, "mariadb");
    var flows = new ReplicationFlows(conductor.Reports, configs, NullLogger<ReplicationFlows>.Instance);
    var context = new JsonObject();
    foreach (var (replica, label) in new[] { (r1, "ours: create replica 1"), (r2, "ours: create replica 2") })
    {
        var snapshotId = $"snap-{replica.Name}-{Environment.ProcessId}";
        var created = await flows.CreateReplicasAsync(Guest(m), new SnapshotRequest(snapshotId, m.GuestId, "mariadb", "10.11", context),
            [new NewReplica(Guest(replica), BenchInstance.PrepareArguments(replica))], CancellationToken.None);
        Report(Measured(label, created));
    }
    await CaughtUpAsync(m, [r1, r2]);

    // Switchover, ours.
    var promote = await flows.PromoteAsync(Guest(r1), Guest(m), [Guest(r2)], CancellationToken.None);
    Report(Measured("ours: promote r1 (switchover)", promote));
    await r1.SqlAsync("INSERT INTO bench.t0 (k, c, pad) VALUES (2, 'after promote', '');");
    await CaughtUpAsync(r1, [m, r2]);

    // Switchover back, by hand (the reference): a replication account for it, created on the source and replicated.
    await r1.SqlAsync("CREATE USER 'benchrepl'@'%' IDENTIFIED BY 'bench-repl-pw'; GRANT REPLICATION SLAVE ON *.* TO 'benchrepl'@'%';");
    await CaughtUpAsync(r1, [m, r2]);
    var manual = Stopwatch.StartNew();
    await r1.SqlAsync("SET GLOBAL read_only = ON");
    var position = await r1.SqlAsync("SELECT @@gtid_binlog_pos");
    await m.SqlAsync($"SELECT MASTER_GTID_WAIT('{position}', 30)");
    await r2.SqlAsync($"SELECT MASTER_GTID_WAIT('{position}', 30)");
    await m.SqlAsync("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;");
    await r2.SqlAsync($"STOP SLAVE; CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {m.Port}, MASTER_USE_GTID = slave_pos; START SLAVE;");
    await r1.SqlAsync($"SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos; CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {m.Port}, "
        + "MASTER_USER = 'benchrepl', MASTER_PASSWORD = 'bench-repl-pw', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1; START SLAVE;");
    Report(new JsonObject { ["run"] = "reference: the switchover back by hand (mariadb CLI, mariadb-ops 5.4)", ["wall_s"] = Round(manual.Elapsed) });
    await m.SqlAsync("INSERT INTO bench.t0 (k, c, pad) VALUES (3, 'after manual switchover', '');");
    await CaughtUpAsync(m, [r1, r2]);

    var again = await flows.PromoteAsync(Guest(r1), Guest(m), [Guest(r2)], CancellationToken.None);
    Report(Measured("ours: promote r1 again (switchover)", again));
    await r1.SqlAsync("INSERT INTO bench.t0 (k, c, pad) VALUES (4, 'before the failover', '');");
    await CaughtUpAsync(r1, [m, r2]);

    // Failover: the source's server and agent die.
    r1.Kill();
    var (winner, eject) = await flows.EjectSourceAsync([Guest(m), Guest(r2)], CancellationToken.None);
    var measuredEject = Measured("ours: eject the SIGKILLed source (failover)", eject);
    measuredEject["new_source"] = winner.InstanceId == m.GuestId ? "m" : "r2";
    Report(measuredEject);
    var (source, follower) = winner.InstanceId == m.GuestId ? (m, r2) : (r2, m);
    await source.SqlAsync("INSERT INTO bench.t0 (k, c, pad) VALUES (5, 'after the failover', '');");
    await CaughtUpAsync(source, [follower]);
    // What one restart of a server costs here: Trove restarts on every override change, five times in a switchover.
    var restart = Stopwatch.StartNew();
    await rpc.CallAsync(new RpcTarget($"guestagent.{follower.GuestId}"), "restart", null, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(300) });
    Report(new JsonObject { ["run"] = "reference: one restart RPC of a replica (Trove restarts 5 times in a switchover)", ["wall_s"] = Round(restart.Elapsed) });
    await CaughtUpAsync(source, [follower]);
    var counts = new[] { await source.SqlAsync("SELECT COUNT(*) FROM bench.t0"), await follower.SqlAsync("SELECT COUNT(*) FROM bench.t0") };
    Report(new JsonObject { ["run"] = "rows in bench.t0 on the new source and its replica", ["rows"] = new JsonArray(counts.Select(c => (JsonNode)c).ToArray()) });
}
finally
{
    foreach (var i in instances) await i.StopAsync();
    Directory.Delete(root, recursive: true);
}

double Wall(string run) => results.First(r => r["run"]!.GetValue<string>() == run)["wall_s"]!.GetValue<double>();
var create1 = Wall("ours: create replica 1");
var promote1 = Wall("ours: promote r1 (switchover)");
var promote2 = Wall("ours: promote r1 again (switchover)");
Console.WriteLine(new JsonObject
{
    ["summary"] = "replication",
    ["innodb_gb"] = Math.Round(results[0]["innodb_bytes"]!.GetValue<long>() / 1e9, 2),
    ["create_replica_vs_bare_seed"] = Math.Round(create1 / Wall("reference: bare seed (mariabackup --stream | mbstream -x, then --prepare)"), 2),
    ["promote_s"] = new JsonArray(promote1, promote2),
    ["promote_vs_manual"] = Math.Round(Math.Min(promote1, promote2) / Wall("reference: the switchover back by hand (mariadb CLI, mariadb-ops 5.4)"), 2),
    ["eject_s"] = Wall("ours: eject the SIGKILLed source (failover)"),
    ["promote_vs_five_restarts"] = Math.Round(Math.Min(promote1, promote2) / (5 * Wall("reference: one restart RPC of a replica (Trove restarts 5 times in a switchover)")), 3),
    ["loadavg"] = File.ReadAllText("/proc/loadavg").Split(' ')[0..3].Aggregate((a, b) => a + " " + b),
}.ToJsonString());
return 0;

static double Round(TimeSpan t) => Math.Round(t.TotalSeconds, 3);

static JsonObject Measured(string label, FlowReport report) => new()
{
    ["run"] = label, ["wall_s"] = Round(report.Total),
    ["steps"] = new JsonObject(report.Steps.Select(s => KeyValuePair.Create(s.Name, (JsonNode?)Round(s.Elapsed)))),
};

static async Task Shell(string command)
{
    var result = await Cli.Wrap("bash").WithArguments(["-c", "set -o pipefail; " + command]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
    if (result.ExitCode != 0) throw new InvalidOperationException($"{command}: {result.StandardError}");
}

static async Task CaughtUpAsync(BenchInstance source, BenchInstance[] replicas)
{
    var position = await source.SqlAsync("SELECT @@gtid_binlog_pos");
    foreach (var r in replicas)
    {
        var waited = await r.SqlAsync($"SELECT MASTER_GTID_WAIT('{position}', 600)");
        if (waited != "0") throw new TimeoutException($"{r.Name} did not reach {position}");
    }
}

/// <summary>One instance: an agent process with its own mariadbd, configured like a guest (local backup store shared by all).</summary>
internal sealed class BenchInstance(string root, string name, string agentBinary, string url, string conductorTopic, string templates)
{
    private Process? _agent;

    public string Name { get; } = name;
    public string Dir { get; } = Path.Combine(root, name);
    public string GuestId { get; } = $"replbench-{name}-{Environment.ProcessId}";
    public int Port { get; } = FreePort();
    public string Socket => Path.Combine(Dir, "m.sock");

    public void Start()
    {
        var conf = Path.Combine(Dir, "conf.d");
        Directory.CreateDirectory(conf);
        File.WriteAllText(Path.Combine(conf, "agent.conf"), $"""
            [DEFAULT]
            guest_id = {GuestId}
            datastore_manager = mariadb
            datastore_version = 10.11
            transport_url = {url}
            control_exchange = trove
            conductor_queue = {conductorTopic}
            storage_strategy = local
            report_interval = 5
            [mariadb]
            mount_point = {Dir}/mnt
            [trove_guest]
            engine_supervisor = process
            engine_socket = {Socket}
            state_dir = {Dir}/state
            engine_config_dir = {Dir}/etc
            engine_user = root
            engine_port = {Port}
            engine_bind_address = 127.0.0.1
            templates_dir = {templates}
            backup_local_dir = {Path.Combine(Path.GetDirectoryName(Dir)!, "store")}
            backup_prepare_memory = 1G
            replication_address = 127.0.0.1
            """);
        var psi = new ProcessStartInfo(agentBinary) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--config-dir");
        psi.ArgumentList.Add(conf);
        _agent = Process.Start(psi)!;
        var log = File.CreateText(Path.Combine(Dir, "agent.log"));
        log.AutoFlush = true;
        _agent.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _agent.OutputDataReceived += (_, _) => { };
        _agent.BeginErrorReadLine();
        _agent.BeginOutputReadLine();
    }

    public async Task WaitForRpcAsync(RpcClient rpc)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await rpc.CallAsync(new RpcTarget($"guestagent.{GuestId}"), "rpc_ping", null, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(5) });
                return;
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    public static JsonObject PrepareArguments(BenchInstance i) => new()
    {
        ["packages"] = new JsonArray(), ["databases"] = new JsonArray(), ["memory_mb"] = 2048, ["users"] = new JsonArray(),
        ["device_path"] = null, ["mount_point"] = $"{i.Dir}/mnt", ["backup_info"] = null, ["config_contents"] = null,
        ["root_password"] = null, ["overrides"] = null, ["cluster_config"] = null, ["snapshot"] = null, ["modules"] = null, ["ds_version"] = "10.11",
    };

    public async Task<string> SqlAsync(string sql)
    {
        var result = await Cli.Wrap("mariadb").WithArguments(["--no-defaults", $"--socket={Socket}", "--user=root", "--batch", "--skip-column-names"])
            .WithStandardInputPipe(PipeSource.FromString(sql)).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"{Name}: {sql}: {result.StandardError}");
        return result.StandardOutput.Trim();
    }

    /// <summary>The VM dies: the server and the agent are SIGKILLed.</summary>
    public void Kill()
    {
        var pidFile = Path.Combine(Dir, "state", "mysqld.pid");
        if (File.Exists(pidFile)) Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture)).Kill();
        _agent?.Kill();
        _agent?.WaitForExit();
    }

    public async Task StopAsync()
    {
        if (_agent is null || _agent.HasExited) return;
        _agent.Kill(entireProcessTree: false);
        // SIGKILL leaves the agent's mariadbd behind (it runs in its own session): stop it by its PID file.
        var pidFile = Path.Combine(Dir, "state", "mysqld.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            try
            {
                using var server = Process.GetProcessById(pid);
                server.Kill();
                await server.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
            }
        }
        await _agent.WaitForExitAsync();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>A trove-conductor stand-in: records what guests report; the flows read it through <see cref="RecordedGuestReports"/>.</summary>
internal sealed class BenchConductor : IAsyncDisposable
{
    private RpcServer _server = null!;

    public RecordedGuestReports Reports { get; private init; } = null!;

    public static async Task<BenchConductor> StartAsync(string url, string topic)
    {
        var received = new ConcurrentQueue<(string Method, JsonObject Args)>();
        var conductor = new BenchConductor { Reports = new RecordedGuestReports(() => received) };
        var endpoint = new RpcEndpoint("1.0");
        foreach (var method in new[] { "heartbeat", "update_backup", "report_root", "notify_end", "notify_exc_info" })
            endpoint.Map(method, (r, _) =>
            {
                received.Enqueue((r.Method, (JsonObject)r.Arguments.Values.DeepClone()));
                return ValueTask.FromResult<JsonNode?>(null);
            });
        conductor._server = new RpcServer(new RpcServerOptions { TransportUrl = url, Exchange = "trove", Topic = topic, Server = "conductor" },
            new RpcDispatcher([endpoint]));
        await conductor._server.StartAsync(CancellationToken.None);
        return conductor;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
