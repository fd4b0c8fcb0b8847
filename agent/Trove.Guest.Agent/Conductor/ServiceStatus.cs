namespace Trove.Guest.Agent.Conductor;

/// <summary>Trove's service statuses, by the description string that goes on the wire (guest-contract §3.4).</summary>
public static class ServiceStatus
{
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Shutdown = "shutdown";
    public const string Crashed = "crashed";
    public const string FailedToSpawn = "failed to spawn";
    public const string Building = "building";
    public const string Unknown = "unknown";
    public const string InstanceReady = "instance ready";
    public const string RestartRequired = "restart required";
    public const string Healthy = "healthy";
}
