using Microsoft.Extensions.Logging;

namespace Trove.Guest.Agent.Configuration;

/// <summary>
/// Reads the configuration the way trove-guestagent does: <c>--config-dir DIR</c> (every <c>*.conf</c> in sorted
/// order) and <c>--config-file FILE</c> (repeatable), later files winning key by key.
/// </summary>
public static class AgentConfigLoader
{
    private static readonly string[] Managers = ["mysql", "mariadb"];

    /// <summary>The files named on the command line, in the order they are read.</summary>
    public static IReadOnlyList<string> Files(string[] args)
    {
        var files = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = Split(args, ref i);
            switch (name)
            {
                case "--config-file":
                    files.Add(value ?? throw new ConfigException("--config-file needs a path"));
                    break;
                case "--config-dir":
                    var dir = value ?? throw new ConfigException("--config-dir needs a path");
                    if (!Directory.Exists(dir)) throw new ConfigException($"--config-dir {dir}: no such directory");
                    files.AddRange(Directory.GetFiles(dir, "*.conf").Order(StringComparer.Ordinal));
                    break;
            }
        }
        return files;
    }

    private static (string Name, string? Value) Split(string[] args, ref int i)
    {
        var arg = args[i];
        var eq = arg.IndexOf('=');
        if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0) return (arg[..eq], arg[(eq + 1)..]);
        return (arg, i + 1 < args.Length ? args[++i] : null);
    }

    public static AgentOptions Load(string[] args, ILogger? logger = null)
    {
        var files = Files(args);
        if (files.Count == 0) throw new ConfigException("no configuration: pass --config-dir DIR or --config-file FILE");
        var doc = new IniDocument();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ConfigException($"--config-file {file}: no such file");
            doc.Load(file);
        }
        var options = Read(new ConfigReader(doc), out var unused);
        foreach (var (section, key) in unused)
            logger?.LogDebug("Ignoring unknown option [{Section}] {Key}", section, key);
        return options;
    }

    internal static AgentOptions Read(ConfigReader r, out IEnumerable<(string Section, string Key)> unused)
    {
        const string D = "DEFAULT";
        const string G = AgentOptions.OurSection;
        var manager = r.Required(D, "datastore_manager");
        if (!Managers.Contains(manager))
            throw new ConfigException($"[DEFAULT] datastore_manager = {manager}: this agent serves {string.Join(" and ", Managers)}");

        var transportUrl = r.Required(D, "transport_url");
        // oslo reads [oslo_messaging_rabbit] from the config; our transport takes the same options in the URL query.
        var rabbit = r.Section("oslo_messaging_rabbit").ToList();
        if (rabbit.Count > 0)
        {
            var query = string.Join("&", rabbit.Select(kv => $"{Uri.EscapeDataString(kv.Key)}={Uri.EscapeDataString(kv.Value)}"));
            transportUrl += (transportUrl.Contains('?') ? "&" : "?") + query;
        }
        try
        {
            Messaging.Transport.RabbitDriverOptions.FromUrl(Messaging.Transport.TransportUrl.Parse(transportUrl));
        }
        catch (FormatException e)
        {
            throw new ConfigException($"[DEFAULT] transport_url / [oslo_messaging_rabbit]: {e.Message}");
        }

        var mountDefault = "/var/lib/mysql";
        var datastore = new DatastoreOptions
        {
            MountPoint = r.String(manager, "mount_point", mountDefault)!,
            DevicePath = r.String(manager, "device_path", "/dev/vdb")!,
            IgnoreUsers = r.List(manager, "ignore_users", "os_admin,root"),
            // Trove's MariaDB list lacks "sys", which MariaDB has shipped since 10.6: we hide it for both.
            IgnoreDbs = r.List(manager, "ignore_dbs", "mysql,information_schema,performance_schema,sys"),
            DefaultPasswordLength = r.Int(manager, "default_password_length", 36, 8, 128),
        };
        var guest = new TroveGuestOptions
        {
            EngineSupervisor = r.Choice(G, "engine_supervisor", EngineSupervisor.Systemd,
                new Dictionary<string, EngineSupervisor> { ["systemd"] = EngineSupervisor.Systemd, ["process"] = EngineSupervisor.Process }),
            EngineUnit = r.String(G, "engine_unit", "mariadb.service")!,
            EngineBinary = r.String(G, "engine_binary", "/usr/sbin/mariadbd")!,
            EngineConfigDir = r.String(G, "engine_config_dir", "/etc/mysql")!,
            EngineSocket = r.String(G, "engine_socket", "/var/run/mysqld/mysqld.sock")!,
            EnginePort = r.Int(G, "engine_port", 3306, 1, 65535),
            EngineBindAddress = r.String(G, "engine_bind_address", "0.0.0.0")!,
            EngineUser = r.String(G, "engine_user", "mysql")!,
            EngineDatadirSeed = r.String(G, "engine_datadir_seed") is { Length: > 0 } seed
                ? (Path.IsPathFullyQualified(seed) ? seed : throw new ConfigException($"[trove_guest] engine_datadir_seed '{seed}' is not an absolute path"))
                : null,
            StateDir = r.String(G, "state_dir", "/opt/trove-guestagent")!,
            TemplatesDir = r.String(G, "templates_dir", "/usr/share/trove-guest/templates")!,
            ReportHealthy = r.Bool(G, "report_healthy", true),
            Watchdog = r.Bool(G, "watchdog", true),
            TrimStartupMemory = r.Bool(G, "trim_startup_memory", true),
            ReplicationAddress = r.String(G, "replication_address") is { Length: > 0 } address
                ? (Net.PrimaryAddress.IsValid(address) ? address : throw new ConfigException($"[trove_guest] replication_address '{address}' is not an IPv4 address"))
                : null,
            ReplicationStartTimeout = TimeSpan.FromSeconds(r.Int(G, "replication_start_timeout", 180, 1, 86400)),
            WaitForTxnTimeout = TimeSpan.FromSeconds(r.Int(G, "wait_for_txn_timeout", 600, 1, 86400)),
        };
        var options = new AgentOptions
        {
            GuestId = r.Required(D, "guest_id"),
            DatastoreManager = manager,
            DatastoreVersion = r.String(D, "datastore_version"),
            TenantId = r.String(D, "tenant_id"),
            InstanceRpcEncrKey = r.String(D, "instance_rpc_encr_key") is { Length: > 0 } key ? key : null,
            TransportUrl = transportUrl,
            ControlExchange = r.String(D, "control_exchange", "openstack")!,
            ConductorQueue = r.String(D, "conductor_queue", "trove-conductor")!,
            ReportInterval = TimeSpan.FromSeconds(r.Int(D, "report_interval", 30, 1, 3600)),
            StateChangeWaitTime = TimeSpan.FromSeconds(r.Int(D, "state_change_wait_time", 180, 1, 86400)),
            StateChangePollTime = TimeSpan.FromSeconds(r.Int(D, "state_change_poll_time", 3, 1, 600)),
            DatabaseServiceUid = r.Int(D, "database_service_uid", 1001, 0, int.MaxValue),
            VolumeFstype = r.String(D, "volume_fstype", "ext3")!,
            FormatOptions = r.String(D, "format_options", "-m 5")!,
            MountOptions = r.String(D, "mount_options", "defaults,noatime")!,
            RootGrant = r.String(D, "root_grant", "ALL")!,
            RootGrantOption = r.Bool(D, "root_grant_option", true),
            SwiftUrl = r.String(D, "swift_url"),
            GuestLogContainerName = r.String(D, "guest_log_container_name", "database_logs")!,
            GuestLogLimit = r.Int(D, "guest_log_limit", 1_000_000, 1024, int.MaxValue),
            GuestLogExpiry = r.Int(D, "guest_log_expiry", 2_592_000, 0, int.MaxValue),
            Datastore = datastore,
            Guest = guest,
            Backup = ReadBackup(r),
        };
        unused = r.UnusedKeys;
        return options;
    }

    private static BackupOptions ReadBackup(ConfigReader r)
    {
        const string D = "DEFAULT";
        const string G = AgentOptions.OurSection;
        var backup = new BackupOptions
        {
            Storage = r.Choice(D, "storage_strategy", BackupStorageKind.Swift, new Dictionary<string, BackupStorageKind>
            {
                ["swift"] = BackupStorageKind.Swift, ["swiftstorage"] = BackupStorageKind.Swift, ["local"] = BackupStorageKind.Local,
                ["s3"] = BackupStorageKind.S3,
            }),
            SwiftContainer = r.String(D, "backup_swift_container", "database_backups")!,
            SegmentMaxSize = r.Long(D, "backup_segment_max_size", 2L << 30, 1 << 20, 5L << 30),
            AesCbcKey = r.String(D, "backup_aes_cbc_key") is { Length: > 0 } cbc ? cbc : null,
            LocalDirectory = r.String(G, "backup_local_dir", "/var/lib/trove-guest/backups")!,
            Compression = r.Choice(G, "backup_compression", BackupCompressionKind.Zstd, new Dictionary<string, BackupCompressionKind>
            {
                ["zstd"] = BackupCompressionKind.Zstd, ["gzip"] = BackupCompressionKind.Gzip,
            }),
            CompressionLevel = r.Int(G, "backup_compression_level", 0, 0, 19),
            CompressionThreads = r.Int(G, "backup_compression_threads", 0, 0, 256),
            Encryption = r.Choice(G, "backup_encryption", BackupEncryptionKind.None, new Dictionary<string, BackupEncryptionKind>
            {
                ["none"] = BackupEncryptionKind.None, ["openssl-cbc"] = BackupEncryptionKind.OpenSslCbc, ["aes-gcm"] = BackupEncryptionKind.AesGcm,
            }),
            EncryptionKey = r.String(G, "backup_encryption_key") is { Length: > 0 } gcm ? gcm : null,
            Parallel = r.Int(G, "backup_parallel", 2, 1, 64),
            PrepareMemory = r.String(G, "backup_prepare_memory", "256M")!,
            S3Endpoint = r.String(G, "backup_s3_endpoint"),
            S3Region = r.String(G, "backup_s3_region", "us-east-1")!,
            S3Bucket = r.String(G, "backup_s3_bucket", "database-backups")!,
            S3AccessKey = r.String(G, "backup_s3_access_key"),
            S3SecretKey = r.String(G, "backup_s3_secret_key"),
            S3PartSize = r.Int(G, "backup_s3_part_size", 16 << 20, 5 << 20, int.MaxValue),
        };
        if (backup.Storage == BackupStorageKind.S3 && (backup.S3Endpoint is null || backup.S3AccessKey is null || backup.S3SecretKey is null))
            throw new ConfigException("[DEFAULT] storage_strategy = s3 needs [trove_guest] backup_s3_endpoint, backup_s3_access_key and backup_s3_secret_key");
        if (backup.Encryption == BackupEncryptionKind.OpenSslCbc && backup.AesCbcKey is null)
            throw new ConfigException("[trove_guest] backup_encryption = openssl-cbc needs [DEFAULT] backup_aes_cbc_key");
        if (backup.Encryption == BackupEncryptionKind.AesGcm && backup.EncryptionKey is null)
            throw new ConfigException("[trove_guest] backup_encryption = aes-gcm needs [trove_guest] backup_encryption_key");
        return backup;
    }
}
