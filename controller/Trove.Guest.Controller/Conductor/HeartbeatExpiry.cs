namespace Trove.Guest.Controller.Conductor;

/// <summary>
/// Whether a guest has gone silent (Trove's <c>agent_heartbeat_expiry</c>): the API then shows its service status as
/// <c>guestagent error</c> unless a task is running. The conductor only records heartbeats; the API decides.
/// </summary>
public static class HeartbeatExpiry
{
    /// <summary>
    /// True when the last heartbeat (Unix milliseconds, as <c>InstanceRecord.LastHeartbeatAt</c>) is more than
    /// <paramref name="expiry"/> before <paramref name="now"/>, or when the guest never sent one.
    /// </summary>
    public static bool IsStale(long? lastHeartbeatAtMs, DateTimeOffset now, TimeSpan expiry) =>
        lastHeartbeatAtMs is not { } last || now.ToUnixTimeMilliseconds() - last > (long)expiry.TotalMilliseconds;
}
