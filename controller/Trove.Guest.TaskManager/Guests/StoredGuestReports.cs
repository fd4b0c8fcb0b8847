using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;
using Trove.Guest.TaskManager.Replication;

namespace Trove.Guest.TaskManager.Guests;

/// <summary>
/// <see cref="IGuestReports"/> over the state stores the conductor writes (as Trove's taskmanager polls its database
/// after trove-conductor saved a guest's report), so flows and the conductor may run in different processes. With
/// <paramref name="changes"/> (the state database's, when the conductor runs in this process) a wait reads again as soon
/// as a report is stored, not at its next poll: in the boot bench the API showed the end of prepare 0.10-0.13 s after
/// the guest's "healthy" (five boots), against 0.25 s with the poll alone (one boot).
/// </summary>
public sealed class StoredGuestReports(InstanceStore instances, BackupStore backups, NotificationStore notifications, TimeSpan? poll = null,
    StateChanges? changes = null) : IGuestReports
{
    private readonly TimeSpan _poll = poll ?? TimeSpan.FromMilliseconds(250);

    /// <summary>The backup once its guest reported it COMPLETED; throws when it reported FAILED, or nothing came in time.</summary>
    public Task<CompletedBackup> WaitForBackupAsync(string backupId, TimeSpan timeout, CancellationToken ct) =>
        PollAsync(async () =>
        {
            // The flow created the row before it asked for the backup: without it no report could ever land.
            var backup = await backups.GetAsync(backupId, null, ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"backup {backupId} does not exist");
            return backup.State switch
            {
                BackupState.Completed => new CompletedBackup(backupId,
                    backup.Location ?? throw new InvalidDataException($"backup {backupId} is COMPLETED without a location"),
                    backup.Checksum ?? "", backup.BackupType ?? "full"),
                BackupState.Failed => throw new InvalidOperationException($"backup {backupId} failed: {backup.Note}"),
                _ => null,
            };
        }, timeout, $"backup {backupId} was not reported COMPLETED or FAILED", ct);

    /// <summary>
    /// The status the guest reported when prepare ended: the controller sets <c>new</c> before it casts prepare, the
    /// guest's forced heartbeats say <c>building</c> at its start and the outcome at its end.
    /// </summary>
    public Task<string> WaitForPrepareEndAsync(string instanceId, TimeSpan timeout, CancellationToken ct) =>
        PollAsync(async () =>
        {
            var instance = await instances.GetAsync(instanceId, null, ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"instance {instanceId} does not exist");
            return instance.ServiceStatus is InstanceServiceStatus.New or InstanceServiceStatus.Building ? null : instance.ServiceStatus;
        }, timeout, $"{instanceId} did not end prepare", ct);

    /// <summary>What the guest said at the end of the cast made with <paramref name="requestId"/> (<c>notify_end</c> or <c>notify_exc_info</c>).</summary>
    public Task<GuestNotification> WaitForNotificationAsync(string requestId, TimeSpan timeout, CancellationToken ct) =>
        PollAsync(() => notifications.FindAsync(requestId, ct), timeout, $"no guest notification for request {requestId}", ct);

    private async Task<T> PollAsync<T>(Func<Task<T?>> read, TimeSpan timeout, string what, CancellationToken ct) where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var stored = changes?.Next; // before the read: a report stored while it runs still wakes the wait below
            if (await read().ConfigureAwait(false) is { } found) return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"{what} in {timeout.TotalSeconds} s");
            var wait = left < _poll ? left : _poll;
            if (stored is null) await Task.Delay(wait, ct).ConfigureAwait(false);
            else await StateChanges.WaitAsync(stored, wait, ct).ConfigureAwait(false);
        }
    }
}
