namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// The files of one <c>process</c> server under its directory. Names are short: the engine's socket path must stay
/// within the 107 bytes of a unix socket address.
/// </summary>
public sealed record ProcessServerLayout(string Directory)
{
    /// <summary>The longest path a unix socket can be bound to (sun_path is 108 bytes with its terminating NUL).</summary>
    public const int MaxSocketPath = 107;

    /// <summary>The directory name of an instance: the first 8 characters of its id.</summary>
    public static string ShortName(string instanceId) => instanceId.Length > 8 ? instanceId[..8] : instanceId;

    /// <summary>The agent's <c>--config-dir</c>: guest_info.conf and trove-guestagent.conf (secrets: mode 0600).</summary>
    public string ConfigDir => Path.Combine(Directory, "conf");
    public string GuestInfoFile => Path.Combine(ConfigDir, "guest_info.conf");
    public string AgentConfigFile => Path.Combine(ConfigDir, "trove-guestagent.conf");

    /// <summary>The engine's <c>engine_config_dir</c> (my.cnf, conf.d/).</summary>
    public string EngineConfigDir => Path.Combine(Directory, "etc");

    /// <summary>The agent's <c>state_dir</c>; the engine writes its pid file here.</summary>
    public string StateDir => Path.Combine(Directory, "state");

    public string EnginePidFile => Path.Combine(StateDir, "mysqld.pid");
    public string EngineSocket => Path.Combine(Directory, "m.sock");
    public string MountPoint => Path.Combine(Directory, "mnt");
    public string VolumeFile => Path.Combine(Directory, "volume.ext4");
    public string AgentLog => Path.Combine(Directory, "agent.log");
    public string AgentPidFile => Path.Combine(Directory, "agent.pid");

    /// <summary>The memory cgroup the agent was put in, when limits are enforced (the controller's own cgroup may differ after a restart).</summary>
    public string CgroupFile => Path.Combine(Directory, "cgroup");
}
