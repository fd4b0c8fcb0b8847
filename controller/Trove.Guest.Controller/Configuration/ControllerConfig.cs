namespace Trove.Guest.Controller.Configuration;

/// <summary>
/// The controller's one configuration file (YAML, <c>/etc/trove-guest/controller.yaml</c> by convention). Every key has a
/// default, so an empty file runs a single-machine controller on SQLite; an unknown key is an error, not a silent typo.
/// </summary>
public sealed class ControllerConfig
{
    /// <summary>Which parts this process runs: <c>api</c>, <c>conductor</c>, <c>worker</c> (all three by default; each can run alone).</summary>
    public List<string> Roles { get; set; } = ["api", "conductor", "worker"];
    public ApiSection Api { get; set; } = new();
    public StateSection State { get; set; } = new();
    public MessagingSection Messaging { get; set; } = new();
    public ComputeSection Compute { get; set; } = new();
    public GuestSection Guest { get; set; } = new();
    public WorkerSection Worker { get; set; } = new();
    public ObjectStoreSection? ObjectStore { get; set; }
    public BootstrapSection? Bootstrap { get; set; }
    public List<FlavorEntry> Flavors { get; set; } = [];
    public List<DatastoreEntry> Datastores { get; set; } = [];
}

/// <summary>A datastore and its versions, registered at start when missing (what trove-manage does for Trove).</summary>
public sealed class DatastoreEntry
{
    public string Name { get; set; } = "";
    public string? DefaultVersion { get; set; }
    public List<DatastoreVersionEntry> Versions { get; set; } = [];
}

public sealed class DatastoreVersionEntry
{
    public string Name { get; set; } = "";

    /// <summary>The engine's version number (Trove's <c>version</c>); the name by default.</summary>
    public string? Version { get; set; }

    /// <summary>The guest manager (<c>mariadb</c>, <c>mysql</c>).</summary>
    public string Manager { get; set; } = "";

    /// <summary>The guest image (Glance id), for image-based compute drivers.</summary>
    public string? Image { get; set; }
}

public sealed class ApiSection
{
    public string Listen { get; set; } = "http://127.0.0.1:8779";

    /// <summary>How long a token lives, in seconds (Keystone's default: an hour).</summary>
    public int TokenLifetimeSeconds { get; set; } = 3600;
}

public sealed class StateSection
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>The SQLite file.</summary>
    public string Path { get; set; } = "/var/lib/trove-guest/state.sqlite";

    /// <summary>PostgreSQL's connection string, without the password (that comes from <see cref="PasswordEnv"/>).</summary>
    public string? Connection { get; set; }

    /// <summary>The environment variable holding PostgreSQL's password, so that no secret sits in this file.</summary>
    public string? PasswordEnv { get; set; }
}

/// <summary>The first project and its administrator, created at start when missing; the password comes from the environment.</summary>
public sealed class BootstrapSection
{
    public string Project { get; set; } = "admin";
    public string User { get; set; } = "admin";
    public string PasswordEnv { get; set; } = "TROVE_GUEST_ADMIN_PASSWORD";
}

/// <summary>A flavor offered to every project (created or updated at start).</summary>
public sealed class FlavorEntry
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public int Ram { get; set; }
    public int Vcpus { get; set; } = 1;
    public int Disk { get; set; }
}

/// <summary>The RabbitMQ the guests and the controller share (oslo.messaging's transport).</summary>
public sealed class MessagingSection
{
    /// <summary>The environment variable holding the transport URL (it carries the broker's password, so not this file).</summary>
    public string TransportUrlEnv { get; set; } = "TROVE_TRANSPORT_URL";

    /// <summary>oslo's <c>control_exchange</c>; Trove's is <c>trove</c>.</summary>
    public string ControlExchange { get; set; } = "trove";

    /// <summary>The conductor's topic (Trove's <c>conductor_queue</c>).</summary>
    public string ConductorTopic { get; set; } = "trove-conductor";

    /// <summary>Encrypt guest RPC with a per-instance key, as Trove does (<c>instance_rpc_encr_key</c>).</summary>
    public bool EncryptGuestRpc { get; set; } = true;
}

/// <summary>Where instances run.</summary>
public sealed class ComputeSection
{
    /// <summary><c>process</c>: each guest agent is a local process with its engine and a loop-mounted volume (development, CI).</summary>
    public string Driver { get; set; } = "process";

    /// <summary>The agent's executable (<c>trove-guest-agent</c>), for the process driver.</summary>
    public string AgentCommand { get; set; } = "/usr/lib/trove-guest/agent/trove-guest-agent";

    /// <summary>Where the process driver keeps each instance's directory (configuration, volume file, mount point).</summary>
    public string Root { get; set; } = "/var/lib/trove-guest/instances";

    /// <summary>The engine configuration templates the agent renders (our <c>templates/</c>).</summary>
    public string TemplatesDir { get; set; } = "/usr/share/trove-guest/templates";

    /// <summary>The qemu driver's embedded image registry (<c>trove-guest image-register</c> fills it); datastore versions name its ids as <c>image</c>.</summary>
    public string ImagesDir { get; set; } = "/var/lib/trove-guest/images";

    /// <summary>The qemu driver's boot firmware: <c>bios</c> (SeaBIOS) or <c>uefi</c> (OVMF).</summary>
    public string Firmware { get; set; } = "bios";

    /// <summary>The qemu driver's accelerator: <c>kvm</c>, <c>tcg</c>, or unset for KVM where <c>/dev/kvm</c> opens and TCG otherwise.</summary>
    public string? Accelerator { get; set; }

    /// <summary>How often guests send heartbeats (their <c>report_interval</c>); unset: each driver's default (process 5 s, qemu 10 s).</summary>
    public int? ReportIntervalSeconds { get; set; }
}

/// <summary>How long the control plane waits for guests (Trove's option names and defaults).</summary>
public sealed class GuestSection
{
    /// <summary>Trove's <c>usage_timeout</c>: how long a new instance may take to report it is up.</summary>
    public int UsageTimeoutSeconds { get; set; } = 1800;

    /// <summary>Trove's <c>agent_heartbeat_expiry</c>: a guest silent for longer shows as ERROR (<c>guestagent error</c>).</summary>
    public int HeartbeatExpirySeconds { get; set; } = 90;

    /// <summary>Trove's <c>agent_call_low_timeout</c> and <c>agent_call_high_timeout</c>.</summary>
    public int CallLowTimeoutSeconds { get; set; } = 15;
    public int CallHighTimeoutSeconds { get; set; } = 180;

    /// <summary>Settings every guest gets in its agent configuration, as <c>section.key</c>: value (e.g. <c>DEFAULT.backup_swift_container</c>).</summary>
    public Dictionary<string, string> Config { get; set; } = [];
}

/// <summary>How task workers share tasks.</summary>
public sealed class WorkerSection
{
    /// <summary>How long a worker holds a task without renewing it; a task whose worker died is taken over after this.</summary>
    public int LeaseSeconds { get; set; } = 30;
}

/// <summary>
/// The object store backups go to (Swift). Trove hands guests the user's Keystone token; this controller signs in with
/// its own account (TempAuth / v1 auth) and hands guests that token and storage URL.
/// </summary>
public sealed class ObjectStoreSection
{
    /// <summary>The v1 auth URL, e.g. <c>http://swift:8080/auth/v1.0</c>.</summary>
    public string AuthUrl { get; set; } = "";
    public string User { get; set; } = "";

    /// <summary>The environment variable holding the account's key.</summary>
    public string KeyEnv { get; set; } = "TROVE_GUEST_SWIFT_KEY";
}
