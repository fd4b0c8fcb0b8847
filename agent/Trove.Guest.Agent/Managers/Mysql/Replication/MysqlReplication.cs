using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Backups;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Net;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql.Replication;

/// <summary>
/// The guest's side of Trove's replication (guest-contract §7) for MySQL and MariaDB: the source takes a snapshot (a
/// backup plus a replication user), replicas attach by GTID, and the control plane re-points them in a switchover or
/// after losing the source. Configuration goes through the <c>master-replication</c> / <c>slave-replication</c> system
/// overrides, applied live where the server allows it and by a restart otherwise. The agent's own writes on a replica
/// stay out of the binary log, and passwords travel as bound parameters, never in argv or a log line.
/// </summary>
public sealed class MysqlReplication(AgentOptions options, MysqlManager manager, MysqlBackups backups, GtidReplication gtid, ILogger<MysqlReplication> logger)
{
    public const string OverrideGroup = "50-system";
    public const string SourceOverride = "master-replication";
    public const string ReplicaOverride = "slave-replication";

    private string DataDir => Path.Combine(options.Datastore.MountPoint, "data");

    public string Strategy => gtid.Strategy;

    // ---- source side --------------------------------------------------------------------------------------------

    /// <summary>
    /// get_replication_snapshot: binary logging on (the source override), a backup through the backup path with its
    /// update_backup reports, a new replication user, and the Snapshot that the control plane passes to new replicas.
    /// </summary>
    public async Task<JsonObject> GetSnapshotAsync(JsonNode? snapshotInfo, string? sourceConfig, JsonObject context, CancellationToken ct)
    {
        var request = BackupRequest.FromJson(snapshotInfo);
        await EnableAsSourceAsync(sourceConfig, ct).ConfigureAwait(false);
        await backups.CreateAsync(request, context, manager.EnsureRunningAsync, ct).ConfigureAwait(false);
        var user = await CreateReplicationUserAsync(ct).ConfigureAwait(false);
        var stats = FilesystemStats.For(options.Datastore.MountPoint);
        var snapshot = new ReplicaInfo(await AddressAsync(ct).ConfigureAwait(false), await PortAsync(ct).ConfigureAwait(false), user, Strategy,
            new Dataset(options.DatastoreManager, stats["used"]!.GetValue<double>(), stats["total"]!.GetValue<double>(), request.Id), null);
        logger.LogInformation("Replication snapshot {BackupId} taken: source {Host}:{Port}, replication user {User}", request.Id, snapshot.Host, snapshot.Port, user.Name);
        return snapshot.ToSnapshotJson();
    }

    /// <summary>get_replica_context: a new replication user and where to connect (MariaDB adds its binlog position).</summary>
    public async Task<JsonObject> GetReplicaContextAsync(CancellationToken ct)
    {
        var user = await CreateReplicationUserAsync(ct).ConfigureAwait(false);
        string? position = null;
        if (gtid is MariaDbGtidReplication)
        {
            await using var s = await manager.Admin.OpenSessionAsync(binlog: true, ct).ConfigureAwait(false);
            position = await gtid.LatestTxnIdAsync(s, ct).ConfigureAwait(false);
        }
        return new ReplicaInfo(await AddressAsync(ct).ConfigureAwait(false), await PortAsync(ct).ConfigureAwait(false), user, null, null, position).ToContextJson();
    }

    /// <summary>enable_as_master: the source override (binary log, GTIDs) in place; a restart only if it changes what the server runs with.</summary>
    public Task EnableAsSourceAsync(string? sourceConfig, CancellationToken ct)
    {
        // Trove writes the override only when it is absent; a different text replaces it here.
        if (sourceConfig is not { Length: > 0 } || manager.ConfigFiles.HasOverrideText(OverrideGroup, SourceOverride, sourceConfig))
            return Task.CompletedTask;
        return manager.ChangeOverridesAsync(f => f.WriteOverrideText(OverrideGroup, SourceOverride, sourceConfig), restartAllowed: true, ct);
    }

    /// <summary>demote_replication_master: the source override removed.</summary>
    public Task DemoteAsync(CancellationToken ct) =>
        manager.ChangeOverridesAsync(f => f.RemoveOverride(OverrideGroup, SourceOverride), restartAllowed: true, ct);

    /// <summary>make_read_only: <c>SET GLOBAL read_only</c> (the agent's own account keeps writing; users lose it).</summary>
    public async Task MakeReadOnlyAsync(bool readOnly, CancellationToken ct)
    {
        await using var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false);
        await s.ExecuteAsync($"SET GLOBAL read_only = {(readOnly ? 1 : 0)}", ct).ConfigureAwait(false);
        logger.LogInformation("read_only = {ReadOnly}", readOnly);
    }

    public async Task<string> GetLatestTxnIdAsync(CancellationToken ct)
    {
        await using var s = await manager.Admin.OpenSessionAsync(binlog: true, ct).ConfigureAwait(false);
        return await gtid.LatestTxnIdAsync(s, ct).ConfigureAwait(false);
    }

    /// <summary>cleanup_source_on_replica_detach: the detached replica's user is dropped on the source (and, replicated, everywhere).</summary>
    public async Task CleanupSourceOnReplicaDetachAsync(JsonNode? replicaInfo, CancellationToken ct)
    {
        var name = (replicaInfo as JsonObject)?["replication_user"]?.GetValue<string>();
        if (name is null) return;
        MysqlNames.ValidateUser(name, "%");
        await using var s = await manager.Admin.OpenSessionAsync(binlog: true, ct).ConfigureAwait(false);
        await s.ExecuteAsync($"DROP USER IF EXISTS {MysqlNames.Account(name, "%")}", ct).ConfigureAwait(false);
        logger.LogInformation("Dropped replication user {User}", name);
    }

    // ---- replica side -------------------------------------------------------------------------------------------

    /// <summary>
    /// The checks Trove makes before attaching (guest-contract §7.2 step 1), made by prepare before it restores anything:
    /// a Snapshot must be of our strategy, and its data must fit our volume.
    /// </summary>
    public ReplicaInfo CheckSnapshot(JsonNode? snapshot, string argument)
    {
        var info = ReplicaInfo.FromJson(snapshot, argument);
        Check(info);
        return info;
    }

    private void Check(ReplicaInfo info)
    {
        if (info.Strategy is { } strategy && strategy != Strategy)
            throw new RpcFailureException("GuestError", "trove.common.exception",
                $"the snapshot is for {strategy} replication, but this {options.DatastoreManager} guest uses {Strategy}");
        if (info.Dataset is { } dataset && Directory.Exists(options.Datastore.MountPoint))
        {
            var total = FilesystemStats.For(options.Datastore.MountPoint)["total"]!.GetValue<double>();
            if (total < dataset.DatasetSizeGb)
                throw new RpcFailureException("GuestError", "trove.common.exception",
                    $"the volume is too small for the replica: {total.ToString(CultureInfo.InvariantCulture)} GB, the source holds {dataset.DatasetSizeGb.ToString(CultureInfo.InvariantCulture)} GB");
        }
    }

    /// <summary>
    /// attach_replica: the replica override in place (live or with a restart), then replication from the source,
    /// waited for until it runs. On failure replication is stopped and forgotten, the status becomes
    /// <c>failed to spawn</c>, and the error goes back to the caller.
    /// </summary>
    public async Task AttachAsync(JsonNode? replicaInfo, string? replicaConfig, bool restart, CancellationToken ct)
    {
        // Malformed arguments are refused before anything changes; from here on, a failure is the replica's.
        var info = ReplicaInfo.FromJson(replicaInfo, "replica_info");
        try
        {
            Check(info);
            if (replicaConfig is { Length: > 0 } config && !manager.ConfigFiles.HasOverrideText(OverrideGroup, ReplicaOverride, config))
                await manager.ChangeOverridesAsync(f => f.WriteOverrideText(OverrideGroup, ReplicaOverride, config), restart, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await manager.ReplicationFailedAsync(e.Message, ct).ConfigureAwait(false);
            throw;
        }
        await StartReplicatingAsync(info, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// CHANGE MASTER and START SLAVE for a server that already runs with the replica override (prepare writes it before
    /// the first start of a new replica, so creating one needs no extra restart).
    /// </summary>
    public async Task StartReplicatingAsync(ReplicaInfo source, CancellationToken ct)
    {
        try
        {
            await using var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false);
            string? backupGtid = null;
            if (source.Dataset is not null)
            {
                backupGtid = GtidReplication.BackupGtid(DataDir) ?? throw new RpcFailureException("GuestError", "trove.common.exception",
                    "the restored backup records no GTID position (xtrabackup_binlog_info): was binary logging on at the source?");
            }
            await s.ExecuteAsync("STOP SLAVE", ct).ConfigureAwait(false);
            await gtid.ConnectAsync(s, source, backupGtid, ct).ConfigureAwait(false);
            await s.ExecuteAsync("START SLAVE", ct).ConfigureAwait(false);
            await WaitUntilRunningAsync(s, ct).ConfigureAwait(false);
            manager.ReplicationHealthy();
            logger.LogInformation("Replicating from {Host}:{Port} as {User}{From}", source.Host, source.Port, source.User.Name,
                backupGtid switch { null => "", "" => " from the start of the source's binary log", _ => $" from GTID {backupGtid}" });
        }
        catch (Exception e)
        {
            logger.LogError("Attaching to {Host}:{Port} failed: {Error}", source.Host, source.Port, e.Message);
            await ForgetSourceAsync().ConfigureAwait(false);
            await manager.ReplicationFailedAsync(e.Message, ct).ConfigureAwait(false);
            if (e is RpcFailureException) throw;
            throw new RpcFailureException("GuestError", "trove.common.exception", $"attaching to {source.Host}:{source.Port} failed: {e.Message}");
        }
    }

    private async Task WaitUntilRunningAsync(MysqlSession s, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + options.Guest.ReplicationStartTimeout;
        var pause = TimeSpan.FromMilliseconds(20);
        while (!await gtid.IsRunningAsync(s, ct).ConfigureAwait(false))
        {
            if (DateTime.UtcNow > deadline)
            {
                var status = await GtidReplication.SlaveStatusAsync(s, ct).ConfigureAwait(false);
                throw new RpcFailureException("GuestError", "trove.common.exception",
                    $"replication did not start within {options.Guest.ReplicationStartTimeout.TotalSeconds} s (IO thread: {status?.GetValueOrDefault("Slave_IO_Running")}, {status?.GetValueOrDefault("Last_IO_Error")})");
            }
            await Task.Delay(pause, ct).ConfigureAwait(false);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
        }
    }

    /// <summary>After a failed attach: no replication thread keeps retrying with what was refused.</summary>
    private async Task ForgetSourceAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var s = await manager.Admin.OpenSessionAsync(binlog: false, timeout.Token).ConfigureAwait(false);
            await s.ExecuteAsync("STOP SLAVE", timeout.Token).ConfigureAwait(false);
            await s.ExecuteAsync("RESET SLAVE ALL", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning("Could not reset replication after the failure: {Error}", e.Message);
        }
    }

    /// <summary>
    /// detach_replica: replication stopped and forgotten, the replica override removed; for a user's detach (not a
    /// failover) the replication user is dropped here too. Returns the user, for cleanup_source_on_replica_detach.
    /// </summary>
    public async Task<JsonObject> DetachAsync(bool forFailover, CancellationToken ct)
    {
        string? user;
        await using (var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false))
        {
            user = (await GtidReplication.SlaveStatusAsync(s, ct).ConfigureAwait(false))?.GetValueOrDefault("Master_User");
            await s.ExecuteAsync("STOP SLAVE", ct).ConfigureAwait(false);
            await s.ExecuteAsync("RESET SLAVE ALL", ct).ConfigureAwait(false);
            if (await GtidReplication.SlaveStatusAsync(s, ct).ConfigureAwait(false) is not null)
                throw new RpcFailureException("GuestError", "trove.common.exception", "replication is still configured after RESET SLAVE ALL");
            if (!forFailover && user is { Length: > 0 })
            {
                MysqlNames.ValidateUser(user, "%");
                await s.ExecuteAsync($"DROP USER IF EXISTS {MysqlNames.Account(user, "%")}", ct).ConfigureAwait(false);
            }
        }
        await manager.ChangeOverridesAsync(f => f.RemoveOverride(OverrideGroup, ReplicaOverride), restartAllowed: true, ct).ConfigureAwait(false);
        manager.ReplicationHealthy();
        logger.LogInformation("Detached from the source (for failover: {ForFailover}); replication user was {User}", forFailover, user);
        return new JsonObject { ["replication_user"] = user };
    }

    /// <summary>get_last_txn: <c>[source id, sequence]</c>; the control plane promotes the replica with the highest.</summary>
    public async Task<JsonArray> GetLastTxnAsync(CancellationToken ct)
    {
        await using var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false);
        var (sourceId, sequence) = await gtid.LastTxnAsync(s, ct).ConfigureAwait(false);
        JsonNode? id = sourceId is null ? null
            : long.TryParse(sourceId, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(sourceId);
        return new JsonArray(id, sequence);
    }

    /// <summary>wait_for_txn, bounded by <c>wait_for_txn_timeout</c> (Trove's waits for ever).</summary>
    public async Task WaitForTxnAsync(string txn, CancellationToken ct)
    {
        await using var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false);
        await gtid.WaitForTxnAsync(s, txn, options.Guest.WaitForTxnTimeout, ct).ConfigureAwait(false);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Trove's replication user: <c>slave_</c> and 8 characters of a UUID, 16 random letters and digits, on any host,
    /// with REPLICATION SLAVE only. Created on the source and written to its binary log, so every replica has it too.
    /// </summary>
    private async Task<ReplicationUser> CreateReplicationUserAsync(CancellationToken ct)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var user = new ReplicationUser("slave_" + Guid.NewGuid().ToString("N")[..8], RandomNumberGenerator.GetString(alphabet, 16));
            try
            {
                await using var s = await manager.Admin.OpenSessionAsync(binlog: true, ct).ConfigureAwait(false);
                await s.ExecuteAsync($"CREATE USER {MysqlNames.Account(user.Name, "%")} IDENTIFIED BY @p", ct, ("@p", user.Password)).ConfigureAwait(false);
                await s.ExecuteAsync($"GRANT REPLICATION SLAVE ON *.* TO {MysqlNames.Account(user.Name, "%")}", ct).ConfigureAwait(false);
                return user;
            }
            catch (MySqlConnector.MySqlException e)
            {
                last = e;
                logger.LogWarning("Creating replication user {User} failed (attempt {Attempt} of 5): {Error}", user.Name, attempt + 1, e.Message);
            }
        }
        throw new RpcFailureException("GuestError", "trove.common.exception", $"could not create a replication user: {last?.Message}");
    }

    private async Task<int> PortAsync(CancellationToken ct)
    {
        await using var s = await manager.Admin.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false);
        return int.Parse(await s.ScalarAsync("SELECT @@port", ct).ConfigureAwait(false) ?? "3306", CultureInfo.InvariantCulture);
    }

    private Task<string> AddressAsync(CancellationToken ct) => Task.FromResult(options.Guest.ReplicationAddress ?? PrimaryAddress.Find());
}
