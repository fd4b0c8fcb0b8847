using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FluentAssertions;
using MySqlConnector;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.TaskManager.Replication;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// GTID replication with three real mariadbd instances and their agents on loopback, a real RabbitMQ and Swift, driven
/// by the control-plane flows through RPC only: replicas created from the source's snapshot, a switchover under a
/// running writer, a failover after SIGKILL, a detach; table checksums equal across the topology after each step.
/// </summary>
public sealed class ReplicationTests(BrokerFixture broker, SwiftFixture swift) : IClassFixture<SwiftFixture>
{
    private const string Tables = "CHECKSUM TABLE shop.items, shop.notes, shop.ledger EXTENDED;";

    [Fact]
    public async Task Replicas_follow_their_source_through_switchover_failover_and_detach()
    {
        await using var set = await ReplicationSet.StartAsync(broker.Url, 3);
        var (m, r1, r2) = (0, 1, 2);
        await set.PrepareSourceAsync(m);
        await BackupDriver.SeedAsync(set[m]);
        await set[m].SqlAsync("CREATE TABLE shop.ledger (id INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB;");
        // An application user, created through the guest API on the source and replicated to the replicas.
        await set[m].CallAsync("create_user", new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["_name"] = "app", ["_host"] = "%", ["_password"] = "app-Secret-1", ["_databases"] = new JsonArray(new JsonObject { ["_name"] = "shop" }) }),
        });

        // 1. Two replicas from one snapshot.
        var snapshotId = "snap-" + Guid.NewGuid().ToString("N")[..12];
        var create = await set.Flows.CreateReplicasAsync(set.Guest(m),
            new SnapshotRequest(snapshotId, set[m].Options.GuestId, "mariadb", "10.11", swift.Context),
            [new NewReplica(set.Guest(r1), ReplicationSet.PrepareArguments(set[r1])), new NewReplica(set.Guest(r2), ReplicationSet.PrepareArguments(set[r2]))],
            CancellationToken.None);
        set[r1].Conductor.Statuses.Should().Contain(ServiceStatus.Healthy, set.Digest());
        set[m].Conductor.Received.Where(r => r.Method == "update_backup").Select(r => r.Args["state"]!.GetValue<string>())
            .Should().Equal("BUILDING", "SAVING", "COMPLETED");
        var snapshotUser = await set[r1].SlaveStatusAsync("Master_User");
        snapshotUser.Should().MatchRegex("^slave_[0-9a-f]{8}$", set.Digest());
        foreach (var r in new[] { r1, r2 })
        {
            (await set[r].SqlAsync("SELECT @@global.read_only")).Should().Be("1", "a replica is read-only for users");
            set[r].LogText.Should().NotContain("Restarting the database", "a new replica starts with its replica configuration");
        }

        // 2. Writes on the source reach both replicas.
        await BackupDriver.ChangeAsync(set[m], 1);
        var sums = await set.CaughtUpChecksumsAsync(m, [r1, r2], Tables);
        sums.Distinct().Should().ContainSingle(set.Digest());

        // 3. Switchover to r1 while a writer commits on the source: nothing it was told is committed may be lost.
        await using (var writer = new LedgerWriter(set[m].Options.Guest.EnginePort))
        {
            await writer.WaitForAsync(50);
            var promote = await set.Flows.PromoteAsync(set.Guest(r1), set.Guest(m), [set.Guest(r2)], CancellationToken.None);
            writer.Target = set[r1].Options.Guest.EnginePort;
            await writer.WaitForAsync(writer.Acknowledged.Count + 50);
            await writer.StopAsync();
            writer.Errors.Should().OnlyContain(e => e.Contains("read-only", StringComparison.OrdinalIgnoreCase) || e.Contains("--read-only", StringComparison.Ordinal),
                "the only refusals are the old source's read-only ones");
            promote.Steps.Should().NotBeEmpty();

            var present = (await set[r1].SqlAsync("SELECT id FROM shop.ledger")).Split('\n').Select(int.Parse).ToHashSet();
            present.Should().Contain(writer.Acknowledged, "every acknowledged transaction is on the new source");
        }
        (await set[r1].SqlAsync("SELECT @@global.read_only")).Should().Be("0");
        (await set[m].SlaveStatusAsync("Master_Port")).Should().Be(set[r1].Options.Guest.EnginePort.ToString());
        (await set[r2].SlaveStatusAsync("Master_Port")).Should().Be(set[r1].Options.Guest.EnginePort.ToString());
        await BackupDriver.ChangeAsync(set[r1], 2);
        (await set.CaughtUpChecksumsAsync(r1, [m, r2], Tables)).Distinct().Should().ContainSingle(set.Digest());
        set.Digest().Should().NotContain("Restarting the database", "on our templates a switchover only changes read_only, which applies live");

        // 4. The source dies (SIGKILL); r2 lags behind m, so m is the most advanced replica and wins the failover.
        await set[r2].SqlAsync("STOP SLAVE SQL_THREAD");
        await BackupDriver.ChangeAsync(set[r1], 3);
        await set.CaughtUpChecksumsAsync(r1, [m], Tables);
        var sourcePid = ((ChildProcessEngine)set[r1].Runtime.Engine).ProcessId!.Value;
        System.Diagnostics.Process.GetProcessById(sourcePid).Kill();
        await set[r1].Runtime.StopAsync(CancellationToken.None);
        var (winner, eject) = await set.Flows.EjectSourceAsync([set.Guest(m), set.Guest(r2)], CancellationToken.None);
        winner.InstanceId.Should().Be(set[m].Options.GuestId, $"m has applied round 3 and r2 has not ({eject})");
        (await set[m].SqlAsync("SELECT @@global.read_only")).Should().Be("0");
        await BackupDriver.ChangeAsync(set[m], 4);
        (await set.CaughtUpChecksumsAsync(m, [r2], Tables)).Distinct().Should().ContainSingle("r2 caught up with round 3 from m, then round 4");

        // 5. Detach r2: it stops replicating, is writable, and no longer has the replication user.
        var r2User = await set[r2].SlaveStatusAsync("Master_User");
        await set.Flows.DetachReplicaAsync(set.Guest(r2), set.Guest(m), dropReplicationUser: true, CancellationToken.None);
        (await set[r2].SlaveStatusAsync("Master_Host")).Should().BeNull();
        (await set[r2].SqlAsync("SELECT @@global.read_only")).Should().Be("0");
        (await set[r2].SqlAsync($"SELECT COUNT(*) FROM mysql.user WHERE User = '{r2User}'")).Should().Be("0");
        (await set[m].SqlAsync($"SELECT COUNT(*) FROM mysql.user WHERE User = '{r2User}'")).Should().Be("0", "the source dropped it too");

        // No password of a replication user ever reached a log line.
        foreach (var line in set[m].Conductor.Received.Select(r => r.Args.ToJsonString())) line.Should().NotContain("password");
        set.Digest().Should().NotContainAny("MASTER_PASSWORD", "IDENTIFIED BY");
    }

    /// <summary>Commits numbered rows as the application user, acknowledging each one only after COMMIT returned.</summary>
    private sealed class LedgerWriter : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LedgerWriter(int port)
        {
            Target = port;
            _loop = Task.Run(LoopAsync);
        }

        public volatile int Target;
        public ConcurrentBag<int> Acknowledged { get; } = [];
        public ConcurrentBag<string> Errors { get; } = [];

        private async Task LoopAsync()
        {
            var next = 1;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var port = Target;
                    await using var c = new MySqlConnection($"Server=127.0.0.1;Port={port};User ID=app;Password=app-Secret-1;Database=shop;Pooling=false;Connection Timeout=2");
                    await c.OpenAsync();
                    while (!_stop.IsCancellationRequested)
                    {
                        await using var cmd = new MySqlCommand("INSERT INTO ledger (id) VALUES (@id)", c);
                        cmd.Parameters.AddWithValue("@id", next);
                        try
                        {
                            await cmd.ExecuteNonQueryAsync();
                        }
                        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
                        {
                            // Committed by an attempt whose acknowledgement was lost: it is there.
                        }
                        Acknowledged.Add(next++);
                        if (Target != port) break;
                    }
                }
                catch (MySqlException e)
                {
                    Errors.Add(e.Message);
                    await Task.Delay(20);
                }
            }
        }

        public async Task WaitForAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Acknowledged.Count < count)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"the writer acknowledged {Acknowledged.Count} of {count}: {string.Join(" | ", Errors.Take(5))}");
                await Task.Delay(10);
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested) await StopAsync();
            _stop.Dispose();
        }
    }
}
