using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Messaging.Client;
using Trove.Guest.TaskManager.Replication;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// Replication given bad input: each case is a clear error and a <c>failed to spawn</c> replica, never a
/// half-configured one that reports healthy; hostile values never reach SQL; a switchover whose candidate cannot catch
/// up changes nothing and leaves the source writable.
/// </summary>
public sealed class ReplicationFailureTests(BrokerFixture broker, SwiftFixture swift) : IClassFixture<SwiftFixture>
{
    [Fact]
    public async Task A_bad_snapshot_fails_the_replica_clearly_and_it_never_reports_healthy()
    {
        await using var set = await ReplicationSet.StartAsync(broker.Url, 4);
        await set.PrepareSourceAsync(0);
        await BackupDriver.SeedAsync(set[0]);
        var id = "snap-" + Guid.NewGuid().ToString("N")[..12];
        var snapshot = await set.Guest(0).GetReplicationSnapshotAsync(new JsonObject
        {
            ["id"] = id, ["instance_id"] = set[0].Options.GuestId, ["datastore"] = "mariadb", ["datastore_version"] = "10.11",
        }, set.Configs.SourceConfig, swift.Context, CancellationToken.None);
        snapshot["replication_strategy"]!.GetValue<string>().Should().Be("MariaDBGTIDReplication");
        snapshot["master"]!["host"]!.GetValue<string>().Should().Be("127.0.0.1");
        snapshot["dataset"]!["snapshot_id"]!.GetValue<string>().Should().Be(id);
        var backup = await set.Reports.WaitForBackupAsync(id, TimeSpan.FromSeconds(30), CancellationToken.None);
        snapshot["config"] = set.Configs.ReplicaConfig;

        JsonObject Doctored(Action<JsonObject> change)
        {
            var copy = (JsonObject)snapshot.DeepClone();
            change(copy);
            return copy;
        }
        var cases = new (int Agent, JsonObject Snapshot, string Error)[]
        {
            (1, Doctored(s => s["replication_strategy"] = "MysqlGTIDReplication"), "is for MysqlGTIDReplication replication"),
            (2, Doctored(s => s["dataset"]!["dataset_size"] = 100000.0), "the volume is too small for the replica"),
            (3, Doctored(s => s["replica_conf"]!["replication_user"]!["password"] = "not-the-password"), "Access denied"),
        };
        var backupInfo = new JsonObject
        {
            ["id"] = id, ["instance_id"] = set[0].Options.GuestId, ["location"] = backup.Location, ["type"] = "full", ["checksum"] = backup.Checksum,
        };
        await Task.WhenAll(cases.Select(async c =>
        {
            try
            {
                await set[c.Agent].PrepareAsync(new JsonObject
                {
                    ["config_contents"] = null, ["backup_info"] = backupInfo.DeepClone(), ["snapshot"] = c.Snapshot,
                }, expectFailure: true, context: swift.Context);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"the replica expected to fail with '{c.Error}' did not: {e.Message}\n{await set[c.Agent].SqlAsync("SHOW SLAVE STATUS\\G", columnNames: true)}", e);
            }
        }));

        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two report intervals: no later heartbeat may say healthy
        foreach (var (agent, _, error) in cases)
        {
            var a = set[agent];
            var failure = a.Conductor.Received.Single(r => r.Method == "notify_exc_info");
            failure.Args["message"]!.GetValue<string>().Should().Contain(error, set.Digest());
            a.Conductor.Statuses.Should().NotContain([ServiceStatus.Healthy, ServiceStatus.Running], "a replica that cannot replicate is never healthy");
            a.Conductor.Statuses.Last().Should().Be(ServiceStatus.FailedToSpawn);
        }
        // Checked before anything was downloaded.
        set[1].LogText.Should().NotContain("Restoring backup");
        set[2].LogText.Should().NotContain("Restoring backup");
        // The refused replica does not keep retrying with the wrong password.
        (await set[3].SlaveStatusAsync("Master_Host")).Should().BeNull("replication was reset after the failure");
        set.Digest().Should().NotContain("not-the-password");
    }

    [Fact]
    public async Task Hostile_replication_arguments_are_refused_before_they_reach_sql()
    {
        await using var set = await ReplicationSet.StartAsync(broker.Url, 1);
        await set.PrepareSourceAsync(0);
        var source = set[0];
        var bad = new JsonObject
        {
            ["master"] = new JsonObject { ["host"] = "127.0.0.1'; DROP DATABASE mysql; --", ["port"] = 3306 },
            ["replica_conf"] = new JsonObject { ["log_position"] = new JsonObject(), ["replication_user"] = new JsonObject { ["name"] = "slave_x", ["password"] = "p" } },
        };
        var attach = () => source.CallAsync("attach_replica", new JsonObject { ["replica_info"] = bad, ["slave_config"] = "", ["restart"] = false });
        (await attach.Should().ThrowAsync<RemoteErrorException>()).Which.Failure.Message.Should().Contain("is not a host name or an IP address");

        var wait = () => source.CallAsync("wait_for_txn", new JsonObject { ["txn"] = "0-1-1', 1); DROP DATABASE mysql; --" });
        (await wait.Should().ThrowAsync<RemoteErrorException>()).Which.Failure.Message.Should().Contain("is not a GTID set");

        var cleanup = () => source.CallAsync("cleanup_source_on_replica_detach", new JsonObject { ["replica_info"] = new JsonObject { ["replication_user"] = "x`@`%`; DROP USER root" } });
        await cleanup.Should().ThrowAsync<RemoteErrorException>();

        // A server that is no replica: detach names no user, get_last_txn knows no source.
        (await source.CallAsync("detach_replica", new JsonObject { ["for_failover"] = true }))!["replication_user"].Should().BeNull();
        (await source.CallAsync("get_last_txn"))!.ToJsonString().Should().Be("[null,0]");
        (await source.SqlAsync("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'mysql'")).Should().Be("1");
        source.Conductor.Statuses.Should().NotContain(ServiceStatus.FailedToSpawn, "refused arguments change nothing");
    }

    [Fact]
    public async Task A_switchover_whose_candidate_cannot_catch_up_changes_nothing()
    {
        await using var set = await ReplicationSet.StartAsync(broker.Url, 2, o => o with { Guest = o.Guest with { WaitForTxnTimeout = TimeSpan.FromSeconds(2) } });
        await set.PrepareSourceAsync(0);
        await BackupDriver.SeedAsync(set[0]);
        await set.Flows.CreateReplicasAsync(set.Guest(0),
            new SnapshotRequest("snap-" + Guid.NewGuid().ToString("N")[..12], set[0].Options.GuestId, "mariadb", "10.11", swift.Context),
            [new NewReplica(set.Guest(1), ReplicationSet.PrepareArguments(set[1]))], CancellationToken.None);
        await set[1].SqlAsync("STOP SLAVE SQL_THREAD");
        await BackupDriver.ChangeAsync(set[0], 1);

        var promote = () => set.Flows.PromoteAsync(set.Guest(1), set.Guest(0), [], CancellationToken.None);
        (await promote.Should().ThrowAsync<ReplicationFlowException>()).Which.Step.Should().EndWith("wait_for_txn");

        (await set[0].SqlAsync("SELECT @@global.read_only")).Should().Be("0", "the source takes writes again");
        (await set[0].SlaveStatusAsync("Master_Host")).Should().BeNull("the source is still the source");
        (await set[1].SlaveStatusAsync("Master_Port")).Should().Be(set[0].Options.Guest.EnginePort.ToString(), "the replica still follows it");
        await set[1].SqlAsync("START SLAVE SQL_THREAD");
        (await set.CaughtUpChecksumsAsync(0, [1], BackupDriver.Tables)).Distinct().Should().ContainSingle();
    }
}
