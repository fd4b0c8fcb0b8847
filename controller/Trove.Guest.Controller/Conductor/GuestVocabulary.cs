namespace Trove.Guest.Controller.Conductor;

/// <summary>The words guests may use in their reports: Trove's service status descriptions and backup states.</summary>
public static class GuestVocabulary
{
    /// <summary>
    /// Every description Trove's <c>ServiceStatus.from_description</c> accepts (guest contract §3.4,
    /// <c>trove/instance/service_status.py</c>); anything else raises there, and is refused here.
    /// </summary>
    public static readonly IReadOnlySet<string> ServiceStatuses = new HashSet<string>(StringComparer.Ordinal)
    {
        "running", "blocked", "paused", "shutdown", "deleted", "crashed", "failed to spawn", "building", "promoting replica",
        "ejecting replica source", "transferring guest logs", "unknown", "new", "guestagent error", "instance ready",
        "restart required", "healthy", "upgrading", "restarting",
    };

    /// <summary>Trove's <c>trove/backup/state.py</c> BackupState values.</summary>
    public static readonly IReadOnlySet<string> BackupStates = new HashSet<string>(StringComparer.Ordinal)
    {
        "NEW", "BUILDING", "SAVING", "COMPLETED", "FAILED", "RESTORED", "DELETE_FAILED",
    };
}
