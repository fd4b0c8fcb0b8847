namespace Trove.Guest.Controller.Conductor;

/// <summary>Where the conductor listens for guests' reports, with Trove's option names and defaults.</summary>
public sealed record ConductorOptions
{
    /// <summary>oslo's <c>transport_url</c>: the broker the guests report through.</summary>
    public required string TransportUrl { get; init; }

    /// <summary>oslo's <c>control_exchange</c>.</summary>
    public string Exchange { get; init; } = "trove";

    /// <summary>Trove's <c>conductor_queue</c>: the topic guests cast to.</summary>
    public string Topic { get; init; } = "trove-conductor";

    /// <summary>This conductor's server name (<c>&lt;topic&gt;.&lt;server&gt;</c>), the host name as oslo uses it.</summary>
    public string Server { get; init; } = System.Net.Dns.GetHostName();

    /// <summary>
    /// Trove's <c>agent_heartbeat_expiry</c> (Zed: 90 s): a guest silent for longer shows <c>guestagent error</c>. The API
    /// applies it (<see cref="HeartbeatExpiry"/>); it lives here because it is the conductor's contract with guests.
    /// </summary>
    public TimeSpan HeartbeatExpiry { get; init; } = TimeSpan.FromSeconds(90);
}
