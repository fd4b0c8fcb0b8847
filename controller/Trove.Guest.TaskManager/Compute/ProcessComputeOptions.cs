using System.Net;
using System.Net.Sockets;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>Settings of the <c>process</c> compute driver (development and CI: guests as local processes).</summary>
public sealed record ProcessComputeOptions
{
    /// <summary>The agent executable (<c>trove-guest-agent</c>).</summary>
    public required string AgentCommand { get; init; }

    /// <summary>
    /// Holds one short directory per instance (<c>Root/&lt;first 8 of the id&gt;</c>): the engine's unix socket lives
    /// there, and socket paths are limited to 107 bytes.
    /// </summary>
    public required string Root { get; init; }

    /// <summary>Our <c>templates/</c> folder: the agent renders my.cnf from it when prepare brings no configuration.</summary>
    public required string TemplatesDir { get; init; }

    /// <summary>Where each engine listens (<c>engine_bind_address</c>, also the <c>replication_address</c> given to replicas).</summary>
    public string EngineBindAddress { get; init; } = "127.0.0.1";

    /// <summary>Hands out a free TCP port for each engine; by default the kernel picks one (a bind to port 0).</summary>
    public Func<int> AllocatePort { get; init; } = KernelPickedPort;

    /// <summary>How often agents send heartbeats (<c>report_interval</c>): short, so development and CI see states quickly.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a starting agent must stay up before create counts it as running: a bad configuration ends it at once
    /// (exit 78, in well under a second for the JIT-compiled agent on an idle host; a busy CI host takes longer).
    /// </summary>
    public TimeSpan StartupGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a stopping agent (and then its engine) gets after SIGTERM before SIGKILL.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The memory cgroup the per-instance groups are made in, as a path inside the hierarchy (<c>/trove</c>); null: the
    /// controller's own cgroup. Under cgroup v2 the parent must be able to delegate <c>memory</c> (no processes of its own).
    /// </summary>
    public string? CgroupParent { get; init; }

    private static int KernelPickedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
