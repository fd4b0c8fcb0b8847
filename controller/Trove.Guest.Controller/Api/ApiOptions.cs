namespace Trove.Guest.Controller.Api;

/// <summary>How the API serves: where it listens and how long a token lives (Keystone's default is an hour).</summary>
public sealed record ApiOptions
{
    public string ListenUrl { get; init; } = "http://127.0.0.1:8779";
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Trove's <c>agent_heartbeat_expiry</c>: an instance whose guest is silent for longer shows as ERROR.</summary>
    public TimeSpan HeartbeatExpiry { get; init; } = TimeSpan.FromSeconds(90);
}
