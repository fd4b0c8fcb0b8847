namespace Trove.Guest.Agent.Configuration;

/// <summary>How the agent runs the database engine.</summary>
public enum EngineSupervisor
{
    /// <summary>Start and stop the engine's systemd unit (guest VMs).</summary>
    Systemd,

    /// <summary>Run the engine as a child process and supervise it (tests, CI, containers without systemd).</summary>
    Process,
}

/// <summary>
/// The agent's configuration: trove-guestagent's options with Trove's names and defaults (guest-contract §4.2), and
/// ours in the <c>[trove_guest]</c> section (see the README).
/// </summary>
public sealed record AgentOptions
{
    public const string OurSection = "trove_guest";

    public required string GuestId { get; init; }
    public required string DatastoreManager { get; init; }
    public string? DatastoreVersion { get; init; }
    public string? TenantId { get; init; }
    public string? InstanceRpcEncrKey { get; init; }

    /// <summary>The transport URL with the <c>[oslo_messaging_rabbit]</c> options added as query parameters.</summary>
    public required string TransportUrl { get; init; }

    public string ControlExchange { get; init; } = "openstack";
    public string ConductorQueue { get; init; } = "trove-conductor";
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan StateChangeWaitTime { get; init; } = TimeSpan.FromSeconds(180);
    public TimeSpan StateChangePollTime { get; init; } = TimeSpan.FromSeconds(3);
    public int DatabaseServiceUid { get; init; } = 1001;
    public string VolumeFstype { get; init; } = "ext3";
    public string FormatOptions { get; init; } = "-m 5";
    public string MountOptions { get; init; } = "defaults,noatime";
    public string RootGrant { get; init; } = "ALL";

    /// <summary><c>swift_url</c>: when set, Swift is <c>swift_url + project_id</c> instead of the context's service catalog.</summary>
    public string? SwiftUrl { get; init; }

    public string GuestLogContainerName { get; init; } = "database_logs";
    public int GuestLogLimit { get; init; } = 1_000_000;
    public int GuestLogExpiry { get; init; } = 2_592_000;
    public bool RootGrantOption { get; init; } = true;

    public required DatastoreOptions Datastore { get; init; }
    public required TroveGuestOptions Guest { get; init; }
    public BackupOptions Backup { get; init; } = new();

    public string Topic => $"guestagent.{GuestId}";
}

/// <summary>The <c>[mysql]</c> / <c>[mariadb]</c> section.</summary>
public sealed record DatastoreOptions
{
    public string MountPoint { get; init; } = "/var/lib/mysql";
    public string DevicePath { get; init; } = "/dev/vdb";
    public IReadOnlyList<string> IgnoreUsers { get; init; } = ["os_admin", "root"];
    public IReadOnlyList<string> IgnoreDbs { get; init; } = ["mysql", "information_schema", "performance_schema", "sys"];
    public int DefaultPasswordLength { get; init; } = 36;
}

/// <summary>Our own settings, all in <c>[trove_guest]</c>.</summary>
public sealed record TroveGuestOptions
{
    /// <summary><c>engine_supervisor = systemd | process</c>.</summary>
    public EngineSupervisor EngineSupervisor { get; init; } = EngineSupervisor.Systemd;

    /// <summary><c>engine_unit</c>: the systemd unit of the engine.</summary>
    public string EngineUnit { get; init; } = "mariadb.service";

    /// <summary><c>engine_binary</c>: the server binary, for the process supervisor.</summary>
    public string EngineBinary { get; init; } = "/usr/sbin/mariadbd";

    /// <summary><c>engine_config_dir</c>: where <c>my.cnf</c> and <c>conf.d/</c> live.</summary>
    public string EngineConfigDir { get; init; } = "/etc/mysql";

    /// <summary><c>engine_socket</c>: the server's unix socket (the agent connects there as os_admin).</summary>
    public string EngineSocket { get; init; } = "/var/run/mysqld/mysqld.sock";

    /// <summary><c>engine_port</c>: the TCP port the server listens on.</summary>
    public int EnginePort { get; init; } = 3306;

    /// <summary><c>engine_bind_address</c>.</summary>
    public string EngineBindAddress { get; init; } = "0.0.0.0";

    /// <summary>
    /// <c>engine_datadir_seed</c>: a datadir the image initialised at build time (the mariadb element runs
    /// <c>mariadb-install-db</c> in the chroot, natively). prepare copies it into an empty datadir instead of initialising
    /// one, which under emulation takes most of prepare. Unset, or when the configuration sets an option that is fixed at
    /// initialisation, prepare runs the install tool.
    /// </summary>
    public string? EngineDatadirSeed { get; init; }

    /// <summary><c>engine_user</c>: the OS user mariadbd runs as (the process supervisor passes <c>--user</c>).</summary>
    public string EngineUser { get; init; } = "mysql";

    /// <summary><c>state_dir</c>: prepare markers and agent state (Trove: /opt/trove-guestagent).</summary>
    public string StateDir { get; init; } = "/opt/trove-guestagent";

    /// <summary><c>templates_dir</c>: <c>&lt;manager&gt;/my.cnf.sbn</c> and <c>validation-rules.json</c> (installed by the image's element).</summary>
    public string TemplatesDir { get; init; } = "/usr/share/trove-guest/templates";

    /// <summary><c>report_healthy</c>: report <c>healthy</c> (Victoria+ control planes) or <c>running</c> (older).</summary>
    public bool ReportHealthy { get; init; } = true;

    /// <summary><c>watchdog</c>: ping systemd's watchdog when WATCHDOG_USEC is set.</summary>
    public bool Watchdog { get; init; } = true;

    /// <summary>
    /// <c>replication_address</c>: the address a source gives its replicas (Trove: the IPv4 of the default route's
    /// interface, which is the default here too). Set it where replicas reach the source another way (NAT, loopback).
    /// </summary>
    public string? ReplicationAddress { get; init; }

    /// <summary><c>replication_start_timeout</c>: how long attach_replica waits for replication to run (Trove: 180 s).</summary>
    public TimeSpan ReplicationStartTimeout { get; init; } = TimeSpan.FromSeconds(180);

    /// <summary><c>wait_for_txn_timeout</c>: how long wait_for_txn waits for a transaction (Trove waits for ever).</summary>
    public TimeSpan WaitForTxnTimeout { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary><c>trim_startup_memory</c>: page out the executable's start-up-only code once READY on a prepared instance, and after work (see StartupMemoryTrimmer and AgentService).</summary>
    public bool TrimStartupMemory { get; init; } = true;
}
