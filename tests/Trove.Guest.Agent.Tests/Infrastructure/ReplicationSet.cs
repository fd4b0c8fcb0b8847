using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.TaskManager.Replication;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>
/// Several agents, each with its own mariadbd on a loopback port, on one broker and one Swift, and the replication
/// flows playing the control plane against them through RPC only. Instances render our own my.cnf template (no
/// config_contents), as our controller does, and advertise 127.0.0.1 to their replicas.
/// </summary>
public sealed class ReplicationSet : IAsyncDisposable
{
    private readonly List<AgentUnderTest> _agents;
    private readonly ILoggerFactory _loggers;

    private ReplicationSet(List<AgentUnderTest> agents, ILoggerFactory loggers, TestLogger flowLog)
    {
        _agents = agents;
        _loggers = loggers;
        FlowLog = flowLog;
        // The conductor's records as the flows read them, from every agent's test conductor.
        Reports = new RecordedGuestReports(() => agents.SelectMany(a => a.Conductor.Received.Select(r => (r.Method, r.Args))));
        Configs = ReplicationConfigs.Render(Path.Combine(RepoPaths.Root, "templates"), "mariadb");
        Flows = new ReplicationFlows(Reports, Configs, loggers.CreateLogger<ReplicationFlows>()) { PrepareTimeout = TimeSpan.FromSeconds(150) };
    }

    public RecordedGuestReports Reports { get; }
    public ReplicationConfigs Configs { get; }
    public ReplicationFlows Flows { get; }
    public TestLogger FlowLog { get; }
    public AgentUnderTest this[int i] => _agents[i];
    public int Count => _agents.Count;

    /// <summary>The control plane's handle on instance <paramref name="i"/> (RPC only).</summary>
    public GuestClient Guest(int i) => new(_agents[0].Client, _agents[i].Options.GuestId, new GuestTimeouts { High = TimeSpan.FromSeconds(90) });

    public static async Task<ReplicationSet> StartAsync(string brokerUrl, int count, Func<AgentOptions, AgentOptions>? configure = null)
    {
        var agents = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => AgentUnderTest.StartAsync(brokerUrl, configure: o =>
        {
            o = o with
            {
                Backup = new BackupOptions { Storage = BackupStorageKind.Swift },
                Guest = o.Guest with
                {
                    ReplicationAddress = "127.0.0.1",
                    ReplicationStartTimeout = TimeSpan.FromSeconds(30),
                    WaitForTxnTimeout = TimeSpan.FromSeconds(30),
                },
            };
            return configure?.Invoke(o) ?? o;
        })));
        var log = new TestLogger();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new TestLoggerProvider(log)));
        return new ReplicationSet([.. agents], loggers, log);
    }

    /// <summary>prepare's arguments for a new instance of this set: our template (no config_contents), 512 MB.</summary>
    public static JsonObject PrepareArguments(AgentUnderTest agent) => new()
    {
        ["packages"] = new JsonArray(), ["databases"] = new JsonArray(), ["memory_mb"] = 512, ["users"] = new JsonArray(),
        ["device_path"] = null, ["mount_point"] = agent.Options.Datastore.MountPoint, ["backup_info"] = null,
        ["config_contents"] = null, ["root_password"] = null, ["overrides"] = null, ["cluster_config"] = null,
        ["snapshot"] = null, ["modules"] = null, ["ds_version"] = "10.11",
    };

    /// <summary>Prepares instance <paramref name="i"/> as a standalone source.</summary>
    public Task PrepareSourceAsync(int i) => _agents[i].PrepareAsync(new JsonObject { ["config_contents"] = null });

    /// <summary>Waits until every replica has applied everything the source wrote, then returns each one's table checksums.</summary>
    public async Task<IReadOnlyList<string>> CaughtUpChecksumsAsync(int source, IEnumerable<int> replicas, string tables)
    {
        var position = await _agents[source].SqlAsync("SELECT @@global.gtid_binlog_pos");
        foreach (var r in replicas)
        {
            var waited = await _agents[r].SqlAsync($"SELECT MASTER_GTID_WAIT('{position}', 60)");
            if (waited != "0") throw new TimeoutException($"instance {r} did not reach {position}: {await _agents[r].SqlAsync("SHOW SLAVE STATUS\\G")}");
        }
        var all = new List<string> { await _agents[source].SqlAsync(tables) };
        foreach (var r in replicas) all.Add(await _agents[r].SqlAsync(tables));
        return all;
    }

    /// <summary>Everything the agents and the flows logged, for failure messages.</summary>
    public string Digest() => string.Join("\n", _agents.Select((a, i) => $"--- instance {i} ---\n{a.Log.Digest()}")) + "\n--- flows ---\n" + FlowLog.Digest();

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents) await agent.DisposeAsync();
        _loggers.Dispose();
    }
}
