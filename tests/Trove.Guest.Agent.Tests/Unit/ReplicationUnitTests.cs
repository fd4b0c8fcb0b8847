using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Managers.Mysql;
using Trove.Guest.Agent.Managers.Mysql.Replication;
using Trove.Guest.Agent.Net;
using Trove.Guest.Messaging.Server;
using Trove.Guest.TaskManager.Replication;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Unit;

public sealed class ReplicationUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tg-repl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject ZedSnapshot() => JsonNode.Parse("""
        {"dataset": {"datastore_manager": "mariadb", "dataset_size": 1.5, "volume_size": 10, "snapshot_id": "b1"},
         "replication_strategy": "MariaDBGTIDReplication",
         "master": {"host": "10.0.0.5", "port": 3306},
         "replica_conf": {"log_position": {}, "replication_user": {"name": "slave_1a2b3c4d", "password": "Pw16charsAbcdefg"}},
         "config": "[mysqld]\nread_only = 1\n"}
        """)!.AsObject();

    [Fact]
    public void A_Zed_snapshot_and_a_Queens_context_both_read()
    {
        var zed = ReplicaInfo.FromJson(ZedSnapshot(), "snapshot");
        zed.Should().BeEquivalentTo(new
        {
            Host = "10.0.0.5", Port = 3306, Strategy = "MariaDBGTIDReplication", GtidPosition = (string?)null,
            Dataset = new Dataset("mariadb", 1.5, 10, "b1"),
        });
        zed.User.Should().Be(new ReplicationUser("slave_1a2b3c4d", "Pw16charsAbcdefg"));
        zed.User.ToString().Should().Be("slave_1a2b3c4d", "a user formats without its password");

        var queens = ReplicaInfo.FromJson(JsonNode.Parse("""
            {"master": {"host": "db.example", "port": "3307"},
             "log_position": {"replication_user": {"name": "slave_x", "password": "p"}, "gtid_pos": "0-1-57,1-2-3"}}
            """), "replica_info");
        queens.Should().BeEquivalentTo(new { Host = "db.example", Port = 3307, Dataset = (Dataset?)null, GtidPosition = "0-1-57,1-2-3" });

        ReplicaInfo.FromJson(queens.ToContextJson(), "replica_info").Should().Be(queens with { Strategy = null });
        ReplicaInfo.FromJson(zed.ToSnapshotJson(), "snapshot").Should().Be(zed);
    }

    [Theory]
    [InlineData("""{"master": {"host": "h"}}""", "names no replication_user")]
    [InlineData("""{"replica_conf": {"replication_user": {"name": "u", "password": "p"}}}""", "has no 'master'")]
    [InlineData("""{"master": {"host": "h", "port": 70000}, "replica_conf": {"replication_user": {"name": "u", "password": "p"}}}""", "is not a TCP port")]
    [InlineData("""{"master": {"host": "h' OR 1=1 --"}, "replica_conf": {"replication_user": {"name": "u", "password": "p"}}}""", "is not a host name")]
    [InlineData("""{"master": {"host": "h"}, "replica_conf": {"replication_user": {"name": "u"}}}""", "has no password")]
    [InlineData("""{"master": {"host": "h"}, "replica_conf": {"log_position": {"gtid_pos": "0-1-1'; DROP"}, "replication_user": {"name": "u", "password": "p"}}}""", "is not a GTID set")]
    public void Malformed_replication_messages_are_value_errors(string json, string error)
    {
        var read = () => ReplicaInfo.FromJson(JsonNode.Parse(json), "replica_info");
        read.Should().Throw<RpcFailureException>().Which.Message.Should().Contain(error);
    }

    [Fact]
    public void The_gtid_a_backup_recorded_is_the_third_field_of_its_binlog_info()
    {
        GtidReplication.BackupGtid(_dir).Should().BeNull("nothing recorded");
        File.WriteAllText(Path.Combine(_dir, "xtrabackup_binlog_info"), "mariadb-bin.000005\t101780434\t0-1-120473\n");
        GtidReplication.BackupGtid(_dir).Should().Be("0-1-120473");
        // What mariabackup 10.11 writes for a source with binary logging on and no transaction logged yet.
        File.WriteAllText(Path.Combine(_dir, "xtrabackup_binlog_info"), "mbin.000001\t323\t\n");
        GtidReplication.BackupGtid(_dir).Should().Be("", "an empty position: the replica starts from the beginning");
        File.WriteAllText(Path.Combine(_dir, "xtrabackup_binlog_info"), "mariadb-bin.000005\t101780434\n");
        GtidReplication.BackupGtid(_dir).Should().Be("", "coordinates without a GTID field");
        File.WriteAllText(Path.Combine(_dir, "xtrabackup_binlog_info"), "\n");
        GtidReplication.BackupGtid(_dir).Should().BeNull("nothing recorded");
    }

    [Fact]
    public void Server_options_compare_as_the_server_reads_them()
    {
        var before = ServerOptions.Parse("--datadir=/d\n--log-bin=mariadb-bin\n--read_only=1\n--read-only=OFF\n--skip-name-resolve\n--loose-gtid-strict-mode=ON\n");
        before["read_only"].Should().Be("0", "the last one wins and OFF is 0");
        before["gtid_strict_mode"].Should().Be("1");
        var after = ServerOptions.Parse("--datadir=/d\n--log_bin=mariadb-bin\n--read_only=true\n--skip-name-resolve\n--relay-log=r\n");
        after.ChangesFrom(before).Should().BeEquivalentTo(new (string, string?)[] { ("read_only", "1"), ("relay_log", "r"), ("gtid_strict_mode", null) });
        ServerOptions.IsDynamic("read_only").Should().BeTrue();
        ServerOptions.IsDynamic("relay_log").Should().BeFalse();
        ServerOptions.IsDynamic("log_bin").Should().BeFalse();
        ServerOptions.SqlValue("1").Should().Be("1");
        ServerOptions.SqlValue(null).Should().Be("DEFAULT");
        ServerOptions.SqlValue("MIXED").Should().Be("'MIXED'");
    }

    [Fact]
    public async Task My_print_defaults_follows_includedir_and_later_files_win()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "conf.d"));
        File.WriteAllText(Path.Combine(_dir, "my.cnf"), $"[mysqld]\nread_only = 0\nlog_bin = a\n!includedir {_dir}/conf.d/\n");
        File.WriteAllText(Path.Combine(_dir, "conf.d", "50-system-001-slave-replication.cnf"), "[mysqld]\nread_only = 1\n");
        var options = await ServerOptions.ReadAsync(Path.Combine(_dir, "my.cnf"), CancellationToken.None);
        options["read_only"].Should().Be("1");
        options["log_bin"].Should().Be("a");
    }

    [Fact]
    public void Our_replication_overrides_differ_from_each_other_only_in_read_only()
    {
        var configs = ReplicationConfigs.Render(Path.Combine(RepoPaths.Root, "templates"), "mariadb");
        var source = ServerOptions.Parse(ToPrinted(configs.SourceConfig));
        var replica = ServerOptions.Parse(ToPrinted(configs.ReplicaConfig));
        replica.ChangesFrom(source).Should().Equal([("read_only", "1")]);
        source["log_bin"].Should().Be("mariadb-bin");
        source["log_slave_updates"].Should().Be("1");

        static string ToPrinted(string ini) => string.Join("\n", ini.Split('\n').Select(l => l.Trim())
            .Where(l => l.Length > 0 && l[0] is not ('#' or '[')).Select(l => "--" + string.Join("=", l.Split('=', 2).Select(p => p.Trim()))));
    }

    [Fact]
    public async Task Recorded_reports_answer_from_what_guests_sent()
    {
        var received = new List<(string Method, JsonObject Args)>();
        var reports = new RecordedGuestReports(() => { lock (received) return received.ToList(); });
        void Add(string method, JsonObject args) { lock (received) received.Add((method, args)); }
        JsonObject Heartbeat(string id, string status) => new() { ["instance_id"] = id, ["payload"] = new JsonObject { ["service_status"] = status } };
        Add("heartbeat", Heartbeat("i1", "healthy"));
        Add("heartbeat", Heartbeat("i1", "building"));
        Add("heartbeat", Heartbeat("i2", "building"));
        var waitForI1 = reports.WaitForPrepareEndAsync("i1", TimeSpan.FromSeconds(5), CancellationToken.None);
        Add("heartbeat", Heartbeat("i2", "healthy"));
        Add("heartbeat", Heartbeat("i1", "failed to spawn"));
        (await waitForI1).Should().Be("failed to spawn", "the status after the last 'building' of that instance");

        Add("update_backup", new JsonObject { ["backup_id"] = "b1", ["state"] = "BUILDING" });
        Add("update_backup", new JsonObject { ["backup_id"] = "b1", ["state"] = "FAILED", ["note"] = "disk full" });
        var failed = () => reports.WaitForBackupAsync("b1", TimeSpan.FromSeconds(5), CancellationToken.None);
        (await failed.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("disk full");
        Add("update_backup", new JsonObject { ["backup_id"] = "b2", ["state"] = "COMPLETED", ["location"] = "file:///s/b2", ["checksum"] = "c", ["backup_type"] = "full" });
        (await reports.WaitForBackupAsync("b2", TimeSpan.FromSeconds(5), CancellationToken.None)).Should().Be(new CompletedBackup("b2", "file:///s/b2", "c", "full"));
        var missing = () => reports.WaitForBackupAsync("b3", TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await missing.Should().ThrowAsync<TimeoutException>();
    }

    [Fact]
    public void The_primary_address_is_on_the_default_route_interface()
    {
        var table = Path.Combine(_dir, "route");
        File.WriteAllText(table, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            + "ens4\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            + "ens3\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        PrimaryAddress.DefaultRouteInterface(table).Should().Be("ens3");
        File.WriteAllText(table, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n");
        PrimaryAddress.DefaultRouteInterface(table).Should().BeNull();
        PrimaryAddress.IsValid("10.1.2.3").Should().BeTrue();
        PrimaryAddress.IsValid("::1").Should().BeFalse();
    }
}
