using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Backups;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Engines;
using Trove.Guest.Agent.IO;
using Trove.Guest.Agent.Managers.Mysql.Replication;
using Trove.Guest.Agent.Models;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>What <c>prepare</c> receives (guest-contract §1.1 row 1), both the 1.0 and 1.1 shapes.</summary>
public sealed record PrepareRequest(
    IReadOnlyList<MysqlDatabase> Databases,
    IReadOnlyList<MysqlUser> Users,
    string? DevicePath,
    string? ConfigContents,
    string? RootPassword,
    JsonObject? Overrides,
    RestoreRequest? Restore,
    JsonNode? Snapshot,
    string? DatastoreVersion,
    int MemoryMb = 1024);

/// <summary>
/// The MySQL/MariaDB manager, running the engine natively (no Docker): prepare, start/stop, configuration, and the
/// SQL administration in <see cref="MysqlAdmin"/>. One class serves both datastores; the differences (SQL dialect for
/// passwords, reserved databases) come from the configuration.
/// </summary>
public sealed partial class MysqlManager(
    AgentOptions options,
    IDatabaseEngine engine,
    StatusReporter status,
    VolumeManager volumes,
    MysqlBackups backups,
    ILogger<MysqlManager> logger)
{
    private const string OsAdmin = "os_admin";
    private readonly MysqlConfigFiles _files = new(options.Guest.EngineConfigDir);
    private readonly ConfigurationRules? _rules = LoadRules(options, logger);
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private MysqlAdmin? _admin;
    private MysqlAdmin? _socketRoot;
    private MysqlGuestLogs? _guestLogs;
    private volatile bool _restartRequired;
    private volatile string? _replicationFailure;

    private string DataDir => Path.Combine(options.Datastore.MountPoint, "data");

    /// <summary>
    /// The server's own temporary directory, on the data volume. A server deletes stray <c>#sql*</c> files in its
    /// tmpdir at start-up; with a shared /tmp, one instance starting (or bootstrapping) removes another's temporary
    /// tables (reproduced here with concurrent install-db runs: "Error on delete of '/tmp/#sql-temptable-…'").
    /// </summary>
    private string TmpDir => Path.Combine(options.Datastore.MountPoint, "tmp");
    private string CredentialsDir => Path.Combine(options.Datastore.MountPoint, "conf.d");
    private string OsAdminCnf => Path.Combine(CredentialsDir, "os_admin.cnf");
    private string StoppedMarker => Path.Combine(options.Guest.StateDir, "engine.stopped-on-request");
    private string ReplicationFailedMarker => Path.Combine(options.Guest.StateDir, "replication.failed");
    private bool IsMariaDb => options.DatastoreManager == "mariadb" || options.Guest.EngineBinary.Contains("mariadb", StringComparison.Ordinal);

    public MysqlConfigFiles ConfigFiles => _files;

    public MysqlGuestLogs GuestLogs => _guestLogs ??= new MysqlGuestLogs(options, _files, () => Admin);

    public MysqlAdmin Admin => _admin ?? throw new RpcFailureException("GuestError", "trove.common.exception",
        "the database has not been prepared yet (no os_admin credentials)");

    /// <summary>At agent start: pick up the credentials of an earlier prepare and, unless it was stopped on request, the engine.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(options.Guest.StateDir);
        if (File.Exists(OsAdminCnf)) _admin = NewAdmin(ReadPassword(OsAdminCnf));
        if (File.Exists(ReplicationFailedMarker)) _replicationFailure = await File.ReadAllTextAsync(ReplicationFailedMarker, ct).ConfigureAwait(false);
        if (status.IsPrepared && !File.Exists(StoppedMarker) && await engine.GetStateAsync(ct).ConfigureAwait(false) != EngineState.Running)
        {
            logger.LogInformation("Starting the database (prepared earlier, not stopped on request)");
            await engine.StartAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The status for heartbeats (guest-contract §2.5, native form).</summary>
    public async Task<string> StatusAsync(CancellationToken ct)
    {
        // A replica whose replication could not be set up is not healthy, whatever its server says.
        if (_replicationFailure is not null) return ServiceStatus.FailedToSpawn;
        if (_restartRequired) return ServiceStatus.RestartRequired;
        // A server that answers os_admin is running: its supervisor (systemctl, a process to start on every heartbeat)
        // is asked only when it does not, to tell a stopped or crashed server from one still starting.
        if (_admin is not null && await _admin.PingAsync(ct).ConfigureAwait(false))
            return options.Guest.ReportHealthy ? ServiceStatus.Healthy : ServiceStatus.Running;
        return await engine.GetStateAsync(ct).ConfigureAwait(false) switch
        {
            EngineState.Stopped => ServiceStatus.Shutdown,
            EngineState.Crashed => ServiceStatus.Crashed,
            _ => ServiceStatus.Running,
        };
    }

    // ---- prepare ------------------------------------------------------------------------------------------------

    /// <summary>
    /// prepare: volume, configuration, data (initialised or restored), secure; for a new replica (a <c>snapshot</c> in
    /// the request) also replication, before the final status, so a replica that cannot replicate reports
    /// <c>failed to spawn</c> and never healthy.
    /// </summary>
    public async Task PrepareAsync(PrepareRequest request, JsonObject context, MysqlReplication replication, CancellationToken ct)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await status.BeginPrepareAsync(ct).ConfigureAwait(false);
            try
            {
                ReplicationHealthy();
                ReplicaInfo? source = null;
                if (request.Snapshot is JsonObject snapshot)
                {
                    if (request.Restore is null) throw RpcFailureException.ValueError("a replica's prepare needs the snapshot's backup_info to restore from");
                    source = ReplicaInfo.FromJson(snapshot, "snapshot");
                }
                await PrepareDatadirAsync(request, context, source is null ? null : replication, ct).ConfigureAwait(false);
                await SecureAsync(ct).ConfigureAwait(false);
                if (source is not null) await replication.StartReplicatingAsync(source, ct).ConfigureAwait(false);
                // A restored instance keeps the source's root@'%': Trove shows it as root-enabled (guest-contract §2.2 step 10).
                if (request.Restore is not null && await Admin.IsRootEnabledAsync(ct).ConfigureAwait(false))
                    await status.ReportRootAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogError(e, "prepare failed");
                await status.EndPrepareAsync(ServiceStatus.FailedToSpawn, ct).ConfigureAwait(false);
                throw;
            }
            await status.EndPrepareAsync(await StatusAsync(ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }

        // After the status is final: failures here are logged only, as in Trove.
        await LoggedAsync("create_database", () => request.Databases.Count > 0 ? Admin.CreateDatabasesAsync(request.Databases, ct) : Task.CompletedTask).ConfigureAwait(false);
        await LoggedAsync("create_user", () => request.Users.Count > 0 ? Admin.CreateUsersAsync(request.Users, ct) : Task.CompletedTask).ConfigureAwait(false);
        if (request.RootPassword is { Length: > 0 } root)
            await LoggedAsync("enable_root_with_password", () => EnableRootAsync(root, ct)).ConfigureAwait(false);
    }

    private async Task LoggedAsync(string step, Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogError("prepare: {Step} failed after the instance was ready: {Error}", step, e.Message);
        }
    }

    private async Task PrepareDatadirAsync(PrepareRequest request, JsonObject context, MysqlReplication? replica, CancellationToken ct)
    {
        PrefetchEngineFiles(withSeed: request.Restore is null);
        var device = request.DevicePath ?? options.Datastore.DevicePath;
        var volumeReady = !string.IsNullOrEmpty(device) && (File.Exists(device) || device.StartsWith("/dev/", StringComparison.Ordinal) && Path.Exists(device))
            ? FormatAndMountAsync(device, ct)
            : Task.CompletedTask;
        // The engine stops while the volume is formatted: neither needs the other, and each mostly waits on its tool.
        await Task.WhenAll(volumeReady, engine.StopAsync(ct)).ConfigureAwait(false);
        // Strategy and size are checked on the mounted volume, before anything is downloaded.
        Directory.CreateDirectory(options.Datastore.MountPoint);
        replica?.CheckSnapshot(request.Snapshot, "snapshot");
        Directory.CreateDirectory(DataDir);
        Directory.CreateDirectory(CredentialsDir);
        File.SetUnixFileMode(CredentialsDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Trove's control plane renders my.cnf and sends it; without one, the agent renders its own template.
        _files.WriteMyCnf(request.ConfigContents is { Length: > 0 } config
            ? config
            : new MyCnfTemplate(options).Render(request.MemoryMb, DataDir, request.DatastoreVersion));
        await WriteSystemOverridesAsync(ct).ConfigureAwait(false);
        if (request.Overrides is { Count: > 0 } overrides) _files.MergeUserOverrides(overrides);
        // A new replica's first start already has the replica configuration: attaching then needs no restart.
        _files.RemoveOverride(MysqlReplication.OverrideGroup, MysqlReplication.ReplicaOverride);
        if (replica is not null && (request.Snapshot as JsonObject)?["config"]?.GetValue<string>() is { Length: > 0 } replicaConfig)
            _files.WriteOverrideText(MysqlReplication.OverrideGroup, MysqlReplication.ReplicaOverride, replicaConfig);

        if (request.Restore is { } restore)
        {
            await backups.RestoreAsync(restore, context, ct).ConfigureAwait(false);
            await StartRestoredAsync(ct).ConfigureAwait(false);
            return;
        }
        if (!Directory.EnumerateFileSystemEntries(DataDir).Any()) await InitialiseDatadirAsync(ct).ConfigureAwait(false);
        if (options.Guest.EngineUser != "root") FileOwner.Set(DataDir, options.Guest.EngineUser, recursive: true);
        File.Delete(StoppedMarker);
        await StartEngineAsync(() => RootQueryOkAsync(ct), "the database to accept connections", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts reading what prepare needs from the image into memory: the seed a new datadir is copied from (first: the
    /// copy comes before the engine's start), then the engine's binary; beside the volume's format, on a thread of its
    /// own, since asking for a file's pages waits on the disk queue. The reads slow the format (0.44 to 0.67 s on average
    /// in an A/B of 7 emulated boots each) but speed MariaDB's start more (1.54 to 1.23 s). Not earlier: the same reads
    /// started with the agent made its own start (to the first broker connection) 0.15-0.2 s slower, its page faults
    /// queued behind them. Not later: the binary alone, read once the volume was mounted, slowed the seed's copy and the
    /// start itself (0.45 s and 0.19 s more, 6 boots each).
    /// </summary>
    private void PrefetchEngineFiles(bool withSeed)
    {
        string[] paths = withSeed && options.Guest.EngineDatadirSeed is { } seed ? [seed, options.Guest.EngineBinary] : [options.Guest.EngineBinary];
        _ = Task.Run(() =>
        {
            var bytes = PageCache.Prefetch(paths);
            logger.LogDebug("Prefetching {Bytes} bytes of {Paths}", bytes, paths);
        });
    }

    private async Task FormatAndMountAsync(string device, CancellationToken ct)
    {
        await volumes.FormatIfBlankAsync(device, ct).ConfigureAwait(false);
        await volumes.MountAsync(device, options.Datastore.MountPoint, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A new, empty datadir: a copy of the image's seed (<c>engine_datadir_seed</c>, made at build time with the same
    /// install options as below) when there is one and the configuration sets nothing that is fixed at initialisation;
    /// otherwise the install tool, here. The seed's InnoDB redo log is small: the first start resizes it to the
    /// configured size (MariaDB 10.11 does that at start-up).
    /// </summary>
    private async Task InitialiseDatadirAsync(CancellationToken ct)
    {
        if (options.Guest.EngineDatadirSeed is { } seed && Directory.Exists(seed) && Directory.EnumerateFileSystemEntries(seed).Any())
        {
            var fixedOptions = _files.OptionsFixedAtInitialisation();
            if (fixedOptions.Count == 0)
            {
                logger.LogInformation("Initialising {DataDir} from the image's seed {Seed}", DataDir, seed);
                await Task.Run(() => SparseTreeCopy.CopyContents(seed, DataDir), ct).ConfigureAwait(false);
                return;
            }
            logger.LogInformation("Not using the image's seed {Seed}: the configuration sets {Options}, fixed when a datadir is initialised",
                seed, string.Join(", ", fixedOptions));
        }
        logger.LogInformation("Initialising {DataDir}", DataDir);
        // The same configuration the server starts with (InnoDB log size and friends), else the first start resizes.
        var defaults = File.Exists(_files.MyCnf) ? $"--defaults-file={_files.MyCnf}" : "--no-defaults";
        await Tools.RunAsync(InstallDbTool, [defaults, $"--datadir={DataDir}", $"--user={options.Guest.EngineUser}",
            "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"], null, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The first start of restored data (guest-contract §2.4): the source's root may have had a password, so the server
    /// runs once with an init file that gives <c>root@localhost</c> socket authentication back to the OS root, which
    /// <see cref="SecureAsync"/> then uses to set a new <c>os_admin</c>. The init file and its option are removed as soon
    /// as the server answers.
    /// </summary>
    private async Task StartRestoredAsync(CancellationToken ct)
    {
        // In the engine's own tmpdir: the server reads it as the engine user, who cannot enter the credentials folder.
        var init = Path.Combine(TmpDir, "restore-init.sql");
        await File.WriteAllTextAsync(init, "SET SESSION sql_log_bin = 0;\nALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;\nFLUSH PRIVILEGES;\n", ct).ConfigureAwait(false);
        File.SetUnixFileMode(init, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        if (options.Guest.EngineUser != "root") FileOwner.Set(init, options.Guest.EngineUser);
        _files.WriteOverride("40-restore", "init", new Dictionary<string, string> { ["init-file"] = init });
        try
        {
            File.Delete(StoppedMarker);
            await StartEngineAsync(() => RootQueryOkAsync(ct), "the restored database to accept connections", ct).ConfigureAwait(false);
        }
        finally
        {
            _files.RemoveOverride("40-restore", "init");
            File.Delete(init);
        }
    }

    /// <summary>The options the agent owns (conf.d/50-system-001-common.cnf): datadir and tmpdir, the latter created for the engine user.</summary>
    private async Task WriteSystemOverridesAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(TmpDir);
        if (options.Guest.EngineUser != "root") FileOwner.Set(TmpDir, options.Guest.EngineUser);
        var system = new Dictionary<string, string> { ["datadir"] = DataDir, ["tmpdir"] = TmpDir };
        // Replication needs a server id of its own on every instance; Trove's templates render one, others may not.
        if (!File.Exists(_files.MyCnf) || !ServerIdLine().IsMatch(File.ReadAllText(_files.MyCnf)))
            system["server_id"] = MyCnfTemplate.ServerId(options.GuestId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _files.WriteSystemOverrides(system);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*server[-_]id\s*=", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex ServerIdLine();

    private string InstallDbTool => File.Exists("/usr/bin/mariadb-install-db") ? "/usr/bin/mariadb-install-db" : "mysql_install_db";

    /// <summary>
    /// Trove's secure(): a random <c>os_admin@localhost</c> with all privileges, anonymous users and remote root
    /// removed. It runs as the database's root over the socket (<see cref="MysqlAdmin.SocketRoot"/>), in the agent's own
    /// connection: no client tool to start, and the generated password is a bound parameter, never in a process's argv.
    /// </summary>
    private async Task SecureAsync(CancellationToken ct)
    {
        var password = NewPassword();
        var account = MysqlNames.Account(OsAdmin, "localhost");
        await using (var root = await SocketRoot.OpenSessionAsync(binlog: false, ct).ConfigureAwait(false))
        {
            // Not in the binary log (binlog: false): os_admin is this server's own (a replica must not gain transactions
            // of its own, and a source's os_admin must not replace its replicas').
            await root.ExecuteAsync($"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY @password", ct, ("@password", password)).ConfigureAwait(false);
            await root.ExecuteAsync($"ALTER USER {account} IDENTIFIED BY @password", ct, ("@password", password)).ConfigureAwait(false);
            await root.ExecuteAsync($"GRANT ALL PRIVILEGES ON *.* TO {account} WITH GRANT OPTION", ct).ConfigureAwait(false);
            // In the same session: one connection fewer on prepare's path, and the drops stay out of the binary log too.
            var unsafeAccounts = await root.QueryAsync("SELECT User, Host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host != 'localhost')", ct).ConfigureAwait(false);
            foreach (var row in unsafeAccounts)
                await root.ExecuteAsync($"DROP USER {MysqlNames.Account(row["User"]!, row["Host"]!)}", ct).ConfigureAwait(false);
            // No FLUSH PRIVILEGES: account statements (CREATE/ALTER/DROP USER, GRANT) update the server's privilege cache
            // themselves; a flush reloads every grant table, work on prepare's path for nothing.
        }

        var cnf = $"[client]\nuser={OsAdmin}\npassword={password}\n";
        File.WriteAllText(OsAdminCnf + ".tmp", cnf);
        File.SetUnixFileMode(OsAdminCnf + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(OsAdminCnf + ".tmp", OsAdminCnf, overwrite: true);
        _admin = NewAdmin(password);
        logger.LogInformation("Secured the installation: os_admin created, anonymous users and remote root removed");
    }

    // One for the manager's life: the readiness probe asks for it every poll.
    private MysqlAdmin SocketRoot => _socketRoot ??= MysqlAdmin.SocketRoot(options.Guest.EngineSocket, IsMariaDb);

    /// <summary>The server answers its root over the socket: it accepts connections, and the datadir is one prepare can secure.</summary>
    private Task<bool> RootQueryOkAsync(CancellationToken ct) => SocketRoot.PingAsync(ct);

    private MysqlAdmin NewAdmin(string password) =>
        new(options.Guest.EngineSocket, OsAdmin, password, IsMariaDb, options.Datastore.IgnoreDbs, options.Datastore.IgnoreUsers);

    private static string ReadPassword(string cnf) =>
        File.ReadLines(cnf).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("password=", StringComparison.Ordinal))?["password=".Length..]
        ?? throw new InvalidOperationException($"{cnf} holds no password");

    private string NewPassword()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return RandomNumberGenerator.GetString(alphabet, options.Datastore.DefaultPasswordLength);
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    private void EnsurePrepared()
    {
        if (!status.IsPrepared)
            throw new RpcFailureException("GuestError", "trove.common.exception", "the database has not been prepared yet");
    }

    public Task RestartAsync(CancellationToken ct) => StopAndStartAsync(null, ct);

    /// <summary>
    /// Trove's rebuild (the instance's VM was rebuilt on a new image, its volume kept): prepare's configuration and
    /// start steps on the existing datadir, bracketed by the same building / final-status heartbeats. Credentials
    /// survive on the volume, so there is no secure step.
    /// </summary>
    public async Task RebuildAsync(string? configContents, JsonObject? overrides, CancellationToken ct)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await status.BeginPrepareAsync(ct).ConfigureAwait(false);
            try
            {
                if (!File.Exists(OsAdminCnf))
                    throw new RpcFailureException("GuestError", "trove.common.exception", $"nothing to rebuild: {OsAdminCnf} is not on the volume");
                await engine.StopAsync(ct).ConfigureAwait(false);
                if (configContents is { Length: > 0 }) _files.WriteMyCnf(configContents);
                await WriteSystemOverridesAsync(ct).ConfigureAwait(false);
                if (overrides is { Count: > 0 }) UpdateOverrides(overrides, remove: true);
                _admin = NewAdmin(ReadPassword(OsAdminCnf));
                File.Delete(StoppedMarker);
                await StartHealthyAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogError(e, "rebuild failed");
                await status.EndPrepareAsync(ServiceStatus.FailedToSpawn, ct).ConfigureAwait(false);
                throw;
            }
            await status.EndPrepareAsync(await StatusAsync(ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public Task StopDbAsync(CancellationToken ct) => WithLifecycleAsync(async () =>
    {
        // Remembered on disk: a database stopped on request stays stopped when the agent or the VM restarts.
        await File.WriteAllTextAsync(StoppedMarker, DateTime.UtcNow.ToString("O"), ct).ConfigureAwait(false);
        await engine.StopAsync(ct).ConfigureAwait(false);
    });

    /// <summary>
    /// Trove's start_db_with_conf_changes (after a flavor resize): the control plane's my.cnf, or, when it sends none but
    /// the new flavor's memory, our template rendered for that memory; with neither, the current my.cnf stays.
    /// </summary>
    public Task StartWithConfChangesAsync(string? configContents, int? memoryMb, string? datastoreVersion, CancellationToken ct) =>
        StopAndStartAsync(configContents is { Length: > 0 } || memoryMb is null
            ? configContents
            : new MyCnfTemplate(options).Render(memoryMb.Value, DataDir, datastoreVersion), ct);

    /// <summary>
    /// restart and start_db_with_conf_changes: stop, optionally write a new my.cnf, start, wait until healthy, then a
    /// heartbeat with the new status. A restart also clears "stopped on request" and "restart required".
    /// </summary>
    private async Task StopAndStartAsync(string? newConfig, CancellationToken ct)
    {
        EnsurePrepared();
        await WithLifecycleAsync(async () =>
        {
            await engine.StopAsync(ct).ConfigureAwait(false);
            if (newConfig is { Length: > 0 }) _files.WriteMyCnf(newConfig);
            File.Delete(StoppedMarker);
            await StartHealthyAsync(ct).ConfigureAwait(false);
            _restartRequired = false;
        }).ConfigureAwait(false);
        await status.ReportAsync(await StatusAsync(ct).ConfigureAwait(false), force: false, ct).ConfigureAwait(false);
    }

    public void ResetConfiguration(string? configContents)
    {
        if (configContents is { Length: > 0 }) _files.WriteMyCnf(configContents);
    }

    private static ConfigurationRules? LoadRules(AgentOptions options, ILogger logger)
    {
        var path = Path.Combine(options.Guest.TemplatesDir, options.DatastoreManager, "validation-rules.json");
        if (File.Exists(path)) return ConfigurationRules.Load(path);
        logger.LogWarning("No validation rules at {Path}: configuration overrides are checked for syntax only", path);
        return null;
    }

    /// <summary>Writes configuration-group overrides to the user override file, after checking them all (update_overrides).</summary>
    public void UpdateOverrides(JsonObject? overrides, bool remove)
    {
        if (overrides is { Count: > 0 }) _rules?.Validate(overrides);
        if (remove) _files.RemoveUserOverrides();
        if (overrides is { Count: > 0 }) _files.MergeUserOverrides(overrides);
    }

    /// <summary>
    /// Applies overrides to the running server (apply_overrides): dynamic parameters with <c>SET GLOBAL</c>; parameters
    /// the rules mark restart_required, or that the server refuses to change live, make the status
    /// <c>restart required</c> until the next restart.
    /// </summary>
    public async Task ApplyOverridesAsync(JsonObject overrides, CancellationToken ct)
    {
        _rules?.Validate(overrides);
        var wasRequired = _restartRequired;
        foreach (var (key, value) in overrides)
        {
            var name = MysqlOverrides.ValidName(key);
            if (_rules?.RequiresRestart(name) == true)
            {
                _restartRequired = true;
                continue;
            }
            try
            {
                await Admin.SetGlobalAsync(name, MysqlOverrides.SqlValue(value), ct).ConfigureAwait(false);
            }
            catch (MySqlConnector.MySqlException e)
            {
                logger.LogWarning("SET GLOBAL {Name} failed: {Error}", name, e.Message);
                if (e.ErrorCode == MySqlConnector.MySqlErrorCode.IncorrectGlobalLocalVariable) _restartRequired = true;
            }
        }
        if (_restartRequired && !wasRequired) await status.ReportAsync(ServiceStatus.RestartRequired, force: false, ct).ConfigureAwait(false);
    }

    public async Task<MysqlUser> EnableRootAsync(string? password, CancellationToken ct)
    {
        password ??= NewPassword();
        MysqlNames.ValidatePassword(password);
        await Admin.EnableRootAsync(password, options.RootGrant, options.RootGrantOption, ct).ConfigureAwait(false);
        return new MysqlUser("root", "%", password, [], IsRoot: true);
    }

    private async Task WithLifecycleAsync(Func<Task> action)
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await action().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Changes override files and brings the running server in line: when only options it can change live differ
    /// (read_only and friends), with <c>SET GLOBAL</c>; otherwise with a restart (or, when the caller forbids one, at the
    /// next restart). Returns true when it restarted.
    /// </summary>
    public async Task<bool> ChangeOverridesAsync(Action<MysqlConfigFiles> edit, bool restartAllowed, CancellationToken ct)
    {
        EnsurePrepared();
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var before = await ServerOptions.ReadAsync(_files.MyCnf, ct).ConfigureAwait(false);
            edit(_files);
            var changes = (await ServerOptions.ReadAsync(_files.MyCnf, ct).ConfigureAwait(false)).ChangesFrom(before);
            if (changes.Count == 0 || await engine.GetStateAsync(ct).ConfigureAwait(false) != EngineState.Running) return false;
            var needRestart = changes.Where(c => !ServerOptions.IsDynamic(c.Name)).Select(c => c.Name).ToList();
            if (needRestart.Count == 0 || !restartAllowed)
            {
                foreach (var (name, value) in changes.Where(c => ServerOptions.IsDynamic(c.Name)))
                    await Admin.SetGlobalAsync(name, ServerOptions.SqlValue(value), ct).ConfigureAwait(false);
                if (needRestart.Count > 0)
                    logger.LogWarning("Configuration changed without a restart: {Options} take effect at the next restart", string.Join(", ", needRestart));
                else
                    logger.LogInformation("Configuration applied live: {Options}", string.Join(", ", changes.Select(c => $"{c.Name}={c.Value ?? "DEFAULT"}")));
                return false;
            }
            logger.LogInformation("Restarting the database for {Options}", string.Join(", ", needRestart));
            await engine.StopAsync(ct).ConfigureAwait(false);
            await StartHealthyAsync(ct).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Replication could not be set up: <c>failed to spawn</c> now and in every heartbeat until it is, also after an
    /// agent restart (the reason is kept in the state directory).
    /// </summary>
    public async Task ReplicationFailedAsync(string reason, CancellationToken ct)
    {
        _replicationFailure = reason;
        Directory.CreateDirectory(options.Guest.StateDir);
        await File.WriteAllTextAsync(ReplicationFailedMarker, reason, ct).ConfigureAwait(false);
        await status.ReportAsync(ServiceStatus.FailedToSpawn, force: true, ct).ConfigureAwait(false);
    }

    public void ReplicationHealthy()
    {
        _replicationFailure = null;
        File.Delete(ReplicationFailedMarker);
    }

    /// <summary>
    /// For work that needs the server up (backups): waits while it is still starting (after an agent or VM restart),
    /// and refuses clearly when it was stopped on request or is not prepared.
    /// </summary>
    public async Task EnsureRunningAsync(CancellationToken ct)
    {
        EnsurePrepared();
        if (File.Exists(StoppedMarker))
            throw new RpcFailureException("GuestError", "trove.common.exception", "the database is stopped (stop_db); start it first");
        await WaitHealthyAsync(ct).ConfigureAwait(false);
    }

    private Task WaitHealthyAsync(CancellationToken ct) => WaitUntilAsync(() => AnswersAsync(ct), Healthy, ct);

    private Task StartHealthyAsync(CancellationToken ct) => StartEngineAsync(() => AnswersAsync(ct), Healthy, ct);

    private const string Healthy = "the database to become healthy";

    /// <summary>The server answers os_admin, or its root over the socket before secure has made os_admin.</summary>
    private Task<bool> AnswersAsync(CancellationToken ct) => _admin is null ? RootQueryOkAsync(ct) : _admin.PingAsync(ct);

    /// <summary>
    /// Starts the engine and returns once <paramref name="answers"/> holds. A unit's start returns only after systemd
    /// has heard the server's READY=1 and run its ExecStartPost, about 0.2 s after the server first answers in a guest
    /// under emulation: so while it runs, the socket is watched (a stat every 50 ms, nothing the starting server has to
    /// share its CPU with) and asked as soon as it appears. A start that fails before the server answers fails here; one
    /// that fails after it (ExecStartPost) is logged.
    /// </summary>
    private async Task StartEngineAsync(Func<Task<bool>> answers, string what, CancellationToken ct)
    {
        var starting = engine.StartAsync(ct);
        while (!starting.IsCompleted)
        {
            if (File.Exists(options.Guest.EngineSocket) && await answers().ConfigureAwait(false))
            {
                _ = starting.ContinueWith(t => logger.LogWarning("Starting the database reported an error after it answered: {Error}",
                    t.Exception!.GetBaseException().Message), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                return;
            }
            await Task.WhenAny(starting, Task.Delay(StartPollInterval, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
        await starting.ConfigureAwait(false);
        await WaitUntilAsync(answers, what, ct).ConfigureAwait(false);
    }

    private static readonly TimeSpan StartPollInterval = TimeSpan.FromMilliseconds(50);

    private async Task WaitUntilAsync(Func<Task<bool>> check, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + options.StateChangeWaitTime;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (await check().ConfigureAwait(false)) return;
            if (await engine.GetStateAsync(ct).ConfigureAwait(false) == EngineState.Crashed)
                throw new RpcFailureException("GuestError", "trove.common.exception",
                    $"the database server exited while waiting for {what}{ErrorLogTail()}");
            if (DateTime.UtcNow > deadline)
                throw new RpcFailureException("GuestError", "trove.common.exception", $"timed out after {options.StateChangeWaitTime.TotalSeconds} s waiting for {what}");
            await Task.Delay(pause, ct).ConfigureAwait(false);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, options.StateChangePollTime.TotalMilliseconds));
        }
    }

    /// <summary>The server's last error lines, when the process supervisor keeps its error log (the first place to look).</summary>
    private string ErrorLogTail()
    {
        var log = Path.Combine(options.Guest.StateDir, "mysqld.err");
        if (!File.Exists(log)) return "";
        var errors = File.ReadLines(log).Where(l => l.Contains("[ERROR]", StringComparison.Ordinal)).TakeLast(3).ToList();
        return errors.Count == 0 ? "" : ": " + string.Join(" | ", errors);
    }
}
