namespace Trove.Guest.Controller.Configuration;

/// <summary>
/// The controller's one configuration file (YAML, <c>/etc/trove-guest/controller.yaml</c> by convention). Every key has a
/// default, so an empty file runs a single-machine controller on SQLite; an unknown key is an error, not a silent typo.
/// </summary>
public sealed class ControllerConfig
{
    public ApiSection Api { get; set; } = new();
    public StateSection State { get; set; } = new();
    public BootstrapSection? Bootstrap { get; set; }
    public List<FlavorEntry> Flavors { get; set; } = [];
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
