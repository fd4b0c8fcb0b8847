using System.Globalization;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql.Replication;

/// <summary>
/// The SQL of GTID replication, which differs between MariaDB (domain-server-seq GTIDs, <c>gtid_slave_pos</c>) and
/// MySQL (uuid:ranges GTID sets, auto-positioning). Trove's strategies <c>MariaDBGTIDReplication</c> and
/// <c>MysqlGTIDReplication</c> (guest-contract §7); the names are the datastore's, the SQL the engine's.
/// </summary>
public abstract class GtidReplication
{
    public static GtidReplication For(string datastoreManager, bool mariaDbEngine)
    {
        var strategy = datastoreManager == "mariadb" ? "MariaDBGTIDReplication" : "MysqlGTIDReplication";
        return mariaDbEngine ? new MariaDbGtidReplication(strategy) : new MysqlGtidReplication(strategy);
    }

    protected GtidReplication(string strategy) => Strategy = strategy;

    /// <summary>The name snapshots carry; a replica refuses a snapshot of another strategy.</summary>
    public string Strategy { get; }

    /// <summary>get_latest_txn_id: every transaction this server has written to its binary log.</summary>
    public abstract Task<string> LatestTxnIdAsync(MysqlSession s, CancellationToken ct);

    /// <summary>
    /// Sets the replica's starting position and points it at the source. <paramref name="backupGtid"/> is the position
    /// recorded in the restored backup (initial attach), null when re-pointing a server that has data of its own.
    /// </summary>
    public abstract Task ConnectAsync(MysqlSession s, ReplicaInfo source, string? backupGtid, CancellationToken ct);

    /// <summary>True when replication runs; throws at once when it failed for good (wrong password, an SQL error).</summary>
    public abstract Task<bool> IsRunningAsync(MysqlSession s, CancellationToken ct);

    /// <summary>get_last_txn: the source's id and the sequence number of its last transaction applied here.</summary>
    public abstract Task<(string? SourceId, long Sequence)> LastTxnAsync(MysqlSession s, CancellationToken ct);

    /// <summary>wait_for_txn: returns when <paramref name="gtid"/> is applied; throws after <paramref name="timeout"/>.</summary>
    public abstract Task WaitForTxnAsync(MysqlSession s, string gtid, TimeSpan timeout, CancellationToken ct);

    /// <summary><c>SHOW SLAVE STATUS</c> by column name, or null when this server is not a replica.</summary>
    public static async Task<Dictionary<string, string?>?> SlaveStatusAsync(MysqlSession s, CancellationToken ct) =>
        (await s.QueryAsync("SHOW SLAVE STATUS", ct).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>
    /// The GTID position a hot backup recorded (third field of <c>xtrabackup_binlog_info</c>): empty when the source
    /// logged binary coordinates but no transaction yet (mariabackup writes <c>mbin.000001\t323\t</c>; a new source's
    /// own writes stay out of its binary log), so a replica starts from the beginning; null when there is no such file,
    /// as when binary logging was off at the source.
    /// </summary>
    public static string? BackupGtid(string dataDir)
    {
        foreach (var name in new[] { "xtrabackup_binlog_info", "mariadb_backup_binlog_info" })
        {
            var path = Path.Combine(dataDir, name);
            if (!File.Exists(path)) continue;
            var fields = File.ReadAllText(path).TrimEnd('\n', '\r').Split('\t');
            if (fields[0].Trim().Length == 0) return null;
            return fields.Length >= 3 && fields[2].Trim().Length > 0 ? GtidText.Validate(fields[2].Trim()) : "";
        }
        return null;
    }

    /// <summary>A replication failure that waiting will not mend: quoted from SHOW SLAVE STATUS.</summary>
    protected static void ThrowIfBroken(Dictionary<string, string?> status)
    {
        foreach (var (errno, error) in new[] { ("Last_IO_Errno", "Last_IO_Error"), ("Last_SQL_Errno", "Last_SQL_Error") })
        {
            var code = status.GetValueOrDefault(errno);
            // 2003/2013: the source is not reachable (yet); the IO thread retries, so that is worth waiting for.
            if (code is null or "0" or "2003" or "2013" or "2005") continue;
            throw new RpcFailureException("GuestError", "trove.common.exception",
                $"replication from {status.GetValueOrDefault("Master_Host")}:{status.GetValueOrDefault("Master_Port")} failed: {status.GetValueOrDefault(error)}");
        }
    }

    protected const string ChangeMasterCommon =
        "CHANGE MASTER TO MASTER_HOST = @host, MASTER_PORT = {0}, MASTER_USER = @user, MASTER_PASSWORD = @password, MASTER_CONNECT_RETRY = 15";

    protected static (string, object?)[] SourceParameters(ReplicaInfo source) =>
        [("@host", source.Host), ("@user", source.User.Name), ("@password", source.User.Password)];

    protected static string Port(ReplicaInfo source) => source.Port.ToString(CultureInfo.InvariantCulture);
}

/// <summary>MariaDB: <c>gtid_slave_pos</c> and <c>MASTER_USE_GTID = slave_pos</c> (mariadb-ops §5).</summary>
public sealed class MariaDbGtidReplication(string strategy) : GtidReplication(strategy)
{
    public override async Task<string> LatestTxnIdAsync(MysqlSession s, CancellationToken ct) =>
        await s.ScalarAsync("SELECT @@global.gtid_binlog_pos", ct).ConfigureAwait(false) ?? "";

    public override async Task ConnectAsync(MysqlSession s, ReplicaInfo source, string? backupGtid, CancellationToken ct)
    {
        if (backupGtid is not null)
        {
            await s.ExecuteAsync("SET GLOBAL gtid_slave_pos = @gtid", ct, ("@gtid", backupGtid)).ConfigureAwait(false);
        }
        else
        {
            // A former source has its own transactions in its binary log, not in gtid_slave_pos: continue from there
            // (the tested path of mariadb-ops §5.4). A replica logs what it applies, so for it the two are equal.
            var binlog = await s.ScalarAsync("SELECT @@global.gtid_binlog_pos", ct).ConfigureAwait(false);
            if (binlog is { Length: > 0 }) await s.ExecuteAsync("SET GLOBAL gtid_slave_pos = @@global.gtid_binlog_pos", ct).ConfigureAwait(false);
        }
        await s.ExecuteAsync(string.Format(CultureInfo.InvariantCulture, ChangeMasterCommon, Port(source)) + ", MASTER_USE_GTID = slave_pos",
            ct, SourceParameters(source)).ConfigureAwait(false);
    }

    public override async Task<bool> IsRunningAsync(MysqlSession s, CancellationToken ct)
    {
        var status = await SlaveStatusAsync(s, ct).ConfigureAwait(false);
        if (status is null) return false;
        ThrowIfBroken(status);
        return status.GetValueOrDefault("Slave_IO_Running") == "Yes" && status.GetValueOrDefault("Slave_SQL_Running") == "Yes";
    }

    public override async Task<(string? SourceId, long Sequence)> LastTxnAsync(MysqlSession s, CancellationToken ct)
    {
        var status = await SlaveStatusAsync(s, ct).ConfigureAwait(false);
        var sourceId = status?.GetValueOrDefault("Master_Server_Id");
        var position = await s.ScalarAsync("SELECT @@global.gtid_slave_pos", ct).ConfigureAwait(false) ?? "";
        long matched = -1, highest = 0;
        foreach (var gtid in position.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = gtid.Split('-');
            if (parts.Length != 3 || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) continue;
            if (parts[1] == sourceId) matched = Math.Max(matched, seq);
            highest = Math.Max(highest, seq);
        }
        // Trove takes the entry of the source's server id. After an earlier switchover the last GTID in the domain may
        // carry another server id; sequence numbers still order the domain (gtid_strict_mode), so use the highest.
        return (sourceId, matched >= 0 ? matched : highest);
    }

    public override async Task WaitForTxnAsync(MysqlSession s, string gtid, TimeSpan timeout, CancellationToken ct)
    {
        var result = await s.ScalarAsync("SELECT MASTER_GTID_WAIT(@gtid, @timeout)", ct, ("@gtid", GtidText.Validate(gtid)), ("@timeout", timeout.TotalSeconds)).ConfigureAwait(false);
        if (result != "0")
            throw new RpcFailureException("GuestError", "trove.common.exception",
                $"transaction {gtid} was not applied within {timeout.TotalSeconds} s (MASTER_GTID_WAIT returned {result ?? "NULL"})");
    }
}

/// <summary>MySQL: GTID sets in <c>gtid_executed</c> and <c>MASTER_AUTO_POSITION = 1</c>.</summary>
public sealed class MysqlGtidReplication(string strategy) : GtidReplication(strategy)
{
    public override async Task<string> LatestTxnIdAsync(MysqlSession s, CancellationToken ct) =>
        await s.ScalarAsync("SELECT @@global.gtid_executed", ct).ConfigureAwait(false) ?? "";

    public override async Task ConnectAsync(MysqlSession s, ReplicaInfo source, string? backupGtid, CancellationToken ct)
    {
        if (backupGtid is not null && backupGtid.Contains('-', StringComparison.Ordinal))
        {
            await s.ExecuteAsync("RESET MASTER", ct).ConfigureAwait(false);
            await s.ExecuteAsync("SET GLOBAL gtid_purged = @gtid", ct, ("@gtid", backupGtid)).ConfigureAwait(false);
        }
        await s.ExecuteAsync(string.Format(CultureInfo.InvariantCulture, ChangeMasterCommon, Port(source)) + ", MASTER_AUTO_POSITION = 1",
            ct, SourceParameters(source)).ConfigureAwait(false);
    }

    public override async Task<bool> IsRunningAsync(MysqlSession s, CancellationToken ct)
    {
        var status = await SlaveStatusAsync(s, ct).ConfigureAwait(false);
        if (status is null) return false;
        ThrowIfBroken(status);
        var state = await s.ScalarAsync("SELECT SERVICE_STATE FROM performance_schema.replication_connection_status", ct).ConfigureAwait(false);
        return state == "ON";
    }

    public override async Task<(string? SourceId, long Sequence)> LastTxnAsync(MysqlSession s, CancellationToken ct)
    {
        var status = await SlaveStatusAsync(s, ct).ConfigureAwait(false);
        var sourceUuid = status?.GetValueOrDefault("Master_UUID");
        var executed = (await s.ScalarAsync("SELECT @@global.gtid_executed", ct).ConfigureAwait(false) ?? "").Replace("\n", "", StringComparison.Ordinal);
        long last = 0;
        foreach (var set in executed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = set.Split(':');
            if (sourceUuid is null || !string.Equals(parts[0], sourceUuid, StringComparison.OrdinalIgnoreCase) || parts.Length < 2) continue;
            var range = parts[^1];
            var end = range.Contains('-', StringComparison.Ordinal) ? range[(range.IndexOf('-', StringComparison.Ordinal) + 1)..] : range;
            if (long.TryParse(end, NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) last = seq;
        }
        return (sourceUuid, last);
    }

    public override async Task WaitForTxnAsync(MysqlSession s, string gtid, TimeSpan timeout, CancellationToken ct)
    {
        var result = await s.ScalarAsync("SELECT WAIT_FOR_EXECUTED_GTID_SET(@gtid, @timeout)", ct, ("@gtid", GtidText.Validate(gtid)), ("@timeout", timeout.TotalSeconds)).ConfigureAwait(false);
        if (result != "0")
            throw new RpcFailureException("GuestError", "trove.common.exception", $"transaction set {gtid} was not applied within {timeout.TotalSeconds} s");
    }
}
