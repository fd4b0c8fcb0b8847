namespace Trove.Guest.TaskManager.Replication;

/// <summary>A backup as the conductor recorded it from the guest's final <c>update_backup</c>.</summary>
public sealed record CompletedBackup(string Id, string Location, string Checksum, string BackupType);

/// <summary>
/// What guests report to the conductor, as the flows need it. Trove's taskmanager reads these from its database after
/// trove-conductor wrote them; the controller implements this over its own store, tests over a test conductor.
/// </summary>
public interface IGuestReports
{
    /// <summary>The backup once COMPLETED; throws when the guest reported it FAILED or nothing came in time.</summary>
    Task<CompletedBackup> WaitForBackupAsync(string backupId, TimeSpan timeout, CancellationToken ct);

    /// <summary>The status the guest reported at the end of prepare (e.g. <c>healthy</c> or <c>failed to spawn</c>).</summary>
    Task<string> WaitForPrepareEndAsync(string instanceId, TimeSpan timeout, CancellationToken ct);
}
