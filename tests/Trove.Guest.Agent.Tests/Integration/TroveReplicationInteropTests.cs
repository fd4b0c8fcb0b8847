using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// python3-trove's own guest API client (trove.guestagent.api.API, what trove-taskmanager calls) drives our agents
/// through the replica creation and promotion sequences: argument names, shapes and results as a real Trove sends and
/// expects them.
/// </summary>
public sealed class TroveReplicationInteropTests(BrokerFixture broker) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tg-repl-interop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<Dictionary<string, JsonObject>> DriveAsync(ReplicationSet set, string phase, params string[] extra)
    {
        string[] args = [Path.Combine(AppContext.BaseDirectory, "interop", "trove_replication_driver.py"), "--url", broker.Url,
            "--source", set[0].Options.GuestId, "--replica", set[1].Options.GuestId, "--phase", phase, .. extra];
        var run = await PythonRpcClient.RunScriptAsync(args, TimeSpan.FromMinutes(3));
        var steps = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(o => o["step"]!.GetValue<string>());
        steps.Values.Where(s => s.ContainsKey("error")).Should().BeEmpty($"every {phase} step succeeds: {run.Stderr[^Math.Min(run.Stderr.Length, 800)..]}\n{set.Digest()}");
        run.ExitCode.Should().Be(0);
        return steps;
    }

    [Fact]
    public async Task Trove_creates_a_replica_and_promotes_it_through_its_own_guest_api()
    {
        var store = Path.Combine(_dir, "backups");
        await using var set = await ReplicationSet.StartAsync(broker.Url, 2,
            o => o with { Backup = new BackupOptions { Storage = BackupStorageKind.Local, LocalDirectory = store } });
        await set.PrepareSourceAsync(0);
        await BackupDriver.SeedAsync(set[0]);
        var sourceConfig = Path.Combine(_dir, "source.cnf");
        var replicaConfig = Path.Combine(_dir, "replica.cnf");
        await File.WriteAllTextAsync(sourceConfig, set.Configs.SourceConfig);
        await File.WriteAllTextAsync(replicaConfig, set.Configs.ReplicaConfig);

        var id = "snap-" + Guid.NewGuid().ToString("N")[..12];
        var snapshotSteps = await DriveAsync(set, "snapshot", "--snapshot-id", id, "--source-config", sourceConfig);
        snapshotSteps["backup_required_for_replication"]["result"]!.GetValue<bool>().Should().BeTrue();
        var snapshot = snapshotSteps["get_replication_snapshot"]["result"]!.AsObject();
        snapshot["replication_strategy"]!.GetValue<string>().Should().Be("MariaDBGTIDReplication");
        snapshot["master"]!["port"]!.GetValue<int>().Should().Be(set[0].Options.Guest.EnginePort);
        snapshot["replica_conf"]!["replication_user"]!["name"]!.GetValue<string>().Should().StartWith("slave_");

        var backup = await set.Reports.WaitForBackupAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);
        snapshot["config"] = set.Configs.ReplicaConfig;
        var backupInfo = new JsonObject
        {
            ["id"] = id, ["instance_id"] = set[0].Options.GuestId, ["location"] = backup.Location, ["type"] = "full", ["checksum"] = backup.Checksum,
        };
        await DriveAsync(set, "replica", "--mount-point", set[1].Options.Datastore.MountPoint,
            "--backup-info", backupInfo.ToJsonString(), "--snapshot", snapshot.ToJsonString());
        (await set.Reports.WaitForPrepareEndAsync(set[1].Options.GuestId, TimeSpan.FromSeconds(120), CancellationToken.None))
            .Should().Be(ServiceStatus.Healthy, set.Digest());
        await BackupDriver.ChangeAsync(set[0], 1);
        (await set.CaughtUpChecksumsAsync(0, [1], BackupDriver.Tables)).Distinct().Should().ContainSingle();

        var promote = await DriveAsync(set, "promote", "--source-config", sourceConfig, "--replica-config", replicaConfig);
        promote["detach_replica"]["result"]!["replication_user"]!.GetValue<string>().Should().Be(snapshot["replica_conf"]!["replication_user"]!["name"]!.GetValue<string>());
        promote["get_replica_context"]["result"]!["replica_conf"]!["log_position"]!["gtid_pos"]!.GetValue<string>().Should().MatchRegex(@"^0-\d+-\d+$");
        var lastTxn = promote["get_last_txn"]["result"]!.AsArray();
        lastTxn[0]!.GetValue<long>().Should().BeGreaterThan(0, "the old source now follows the new one's server id");

        (await set[1].SqlAsync("SELECT @@global.read_only")).Should().Be("0");
        (await set[0].SlaveStatusAsync("Master_Port")).Should().Be(set[1].Options.Guest.EnginePort.ToString());
        await BackupDriver.ChangeAsync(set[1], 2);
        (await set.CaughtUpChecksumsAsync(1, [0], BackupDriver.Tables)).Distinct().Should().ContainSingle(set.Digest());
    }
}
