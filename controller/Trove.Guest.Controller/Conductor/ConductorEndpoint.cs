using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Server;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;

namespace Trove.Guest.Controller.Conductor;

/// <summary>
/// trove-conductor's methods (guest contract §3.1, <c>trove/conductor/manager.py</c>), target version 1.0, writing what
/// guests report into the state stores. Every method is a cast from a guest: a report that is malformed, out of
/// order or about something unknown is logged and dropped, never an error that could stop the server.
/// </summary>
/// <remarks>
/// Deliberate differences from Trove: an unknown service status or backup state is refused with a log line instead of
/// an exception; a report decrypted with one instance's key may not speak for another instance; and an instance that
/// has an RPC key must report encrypted (a plain-text report naming it could come from anyone).
/// </remarks>
public sealed class ConductorEndpoint(InstanceStore instances, BackupStore backups, NotificationStore notifications, GuestKeyCache keys,
    ILogger<ConductorEndpoint> logger)
{
    public const string Version = "1.0";

    /// <summary>Longest failure message kept as a notification and a fault: the API shows it, and a guest's text can be of any size.</summary>
    private const int MessageLimit = 16 * 1024;

    public RpcEndpoint Build() => new RpcEndpoint(Version)
        .Map("heartbeat", Guarded(HeartbeatAsync))
        .Map("update_backup", Guarded(UpdateBackupAsync))
        .Map("report_root", Guarded(ReportRootAsync))
        .Map("notify_end", Guarded(NotifyEndAsync))
        .Map("notify_exc_info", Guarded(NotifyExcInfoAsync));

    private RpcHandler Guarded(Func<ReportArguments, CancellationToken, Task> handler) => async (request, ct) =>
    {
        try
        {
            await handler(new ReportArguments(request), ct).ConfigureAwait(false);
        }
        catch (RefusedReportException e)
        {
            logger.LogWarning("Dropped {Method} from a guest: {Reason}", request.Method, e.Message);
            // Guests only cast; a caller (an operator's tool) gets the reason back.
            if (request.IsCall) throw RpcFailureException.ValueError(e.Message);
        }
        return null;
    };

    /// <summary>heartbeat(instance_id, payload{service_status}, sent): the guest's status, and the liveness the API checks.</summary>
    private async Task HeartbeatAsync(ReportArguments args, CancellationToken ct)
    {
        var instanceId = args.InstanceId();
        RequireEncryptedIfKeyed(args, instanceId);
        var sent = args.SentMicros();
        var payload = args.RequiredObject("payload");
        var status = ReportArguments.StringIn(payload, "service_status");
        if (status is not null && !GuestVocabulary.ServiceStatuses.Contains(status))
            throw new RefusedReportException($"instance {instanceId} reported an unknown service status {ReportArguments.Quote(status)}");
        if (status is null)
        {
            // Trove saves such a heartbeat without changing the status: it still says the guest is alive.
            if (await instances.GetAsync(instanceId, null, ct).ConfigureAwait(false) is not { } current)
            {
                logger.LogInformation("Heartbeat from unknown instance {InstanceId} ignored", instanceId);
                return;
            }
            status = current.ServiceStatus;
        }
        if (sent is null) logger.LogWarning("Heartbeat from instance {InstanceId} has no 'sent'; it cannot be ordered", instanceId);

        if (await instances.RecordHeartbeatAsync(instanceId, status, sent, ct).ConfigureAwait(false))
        {
            logger.LogDebug("Instance {InstanceId} is {Status}", instanceId, status);
            return;
        }
        var stored = await instances.GetAsync(instanceId, null, ct).ConfigureAwait(false);
        if (stored is null)
            logger.LogInformation("Heartbeat from unknown instance {InstanceId} ignored", instanceId);
        else if (stored.ServiceStatus == InstanceServiceStatus.RestartRequired)
            logger.LogInformation("Heartbeat ({Status}) from instance {InstanceId} ignored: it stays 'restart required' until restarted", status, instanceId);
        else
            logger.LogInformation("Heartbeat ({Status}) from instance {InstanceId} is older than the last one seen; discarded", status, instanceId);
    }

    /// <summary>update_backup(instance_id, backup_id, sent, **fields): the guest's progress on a backup it is writing.</summary>
    private async Task UpdateBackupAsync(ReportArguments args, CancellationToken ct)
    {
        var instanceId = args.InstanceId();
        RequireEncryptedIfKeyed(args, instanceId);
        var backupId = args.RequiredString("backup_id");
        var sent = args.SentMicros();
        var state = args.OptionalString("state");
        if (state is not null && !GuestVocabulary.BackupStates.Contains(state))
            throw new RefusedReportException($"instance {instanceId} reported an unknown state {ReportArguments.Quote(state)} for backup {backupId}");
        // 'success' is not a backup column (Trove ignores it); 'note' is kept: it says why a backup FAILED.
        var update = new BackupUpdate(state, args.OptionalString("location"), args.OptionalString("checksum"), args.OptionalString("backup_type"),
            args.OptionalNumber("size"), args.OptionalString("note"));

        if (!await instances.ClaimBackupReportAsync(instanceId, sent, ct).ConfigureAwait(false))
        {
            logger.LogInformation("update_backup ({State}) of backup {BackupId} from instance {InstanceId} is older than the last one seen, "
                + "or the instance is unknown; discarded", state, backupId, instanceId);
            return;
        }
        if (!await backups.ApplyGuestUpdateAsync(backupId, instanceId, update, ct).ConfigureAwait(false))
        {
            logger.LogWarning("update_backup ({State}) from instance {InstanceId} ignored: backup {BackupId} is not one of that instance's, "
                + "or it has already ended", state, instanceId, backupId);
            return;
        }
        logger.LogInformation("Backup {BackupId} of instance {InstanceId}: {State}", backupId, instanceId, state ?? "(state unchanged)");
    }

    /// <summary>report_root(instance_id, user?): root was enabled on the instance (the API's root-enabled history).</summary>
    private async Task ReportRootAsync(ReportArguments args, CancellationToken ct)
    {
        var instanceId = args.InstanceId();
        RequireEncryptedIfKeyed(args, instanceId);
        // 'user' is required by a Queens conductor and ignored since; any value is accepted.
        await instances.SetRootEnabledAsync(instanceId, ct).ConfigureAwait(false);
        logger.LogInformation("Root was enabled on instance {InstanceId}", instanceId);
    }

    /// <summary>notify_end(serialized_notification, notification_args): a cast operation the control plane sent ended well.</summary>
    private async Task NotifyEndAsync(ReportArguments args, CancellationToken ct)
    {
        var (requestId, instanceId, _) = Notification(args);
        await notifications.AddAsync(requestId, instanceId, "notify_end", null, ct).ConfigureAwait(false);
        logger.LogInformation("Request {RequestId} ended on instance {InstanceId}", requestId, instanceId);
    }

    /// <summary>notify_exc_info(serialized_notification, message, exception): a cast operation failed on the guest.</summary>
    private async Task NotifyExcInfoAsync(ReportArguments args, CancellationToken ct)
    {
        var (requestId, instanceId, classname) = Notification(args);
        var message = args.OptionalString("message") ?? "the guest reported a failure without a message";
        if (message.Length > MessageLimit) message = message[..MessageLimit];
        // Trove stores the traceback as the fault's details; the API here shows the message, so only its size is logged.
        var traceback = args.Raw("exception") is JsonArray lines ? lines.Count : 0;
        await notifications.AddAsync(requestId, instanceId, "notify_exc_info", message, ct).ConfigureAwait(false);
        if (instanceId is not null) await instances.SetFaultAsync(instanceId, message, ct).ConfigureAwait(false);
        logger.LogWarning("Request {RequestId} ({Event}) failed on instance {InstanceId}: {Message} ({Lines} traceback lines)",
            requestId, classname, instanceId, ReportArguments.Quote(message), traceback);
    }

    /// <summary>The request id and instance of a serialized notification (Trove's <c>SerializableNotification</c>).</summary>
    private (string RequestId, string? InstanceId, string? Classname) Notification(ReportArguments args)
    {
        var notification = args.RequiredObject("serialized_notification");
        var requestId = ReportArguments.StringIn(notification, "request_id")
            ?? throw new RefusedReportException("'serialized_notification' has no request_id");
        var instanceId = ReportArguments.StringIn(notification, "instance_id") is { } named ? args.CheckSender(named) : args.AuthenticatedInstance;
        if (instanceId is not null) RequireEncryptedIfKeyed(args, instanceId);
        return (requestId, instanceId, ReportArguments.StringIn(notification, "notification_classname"));
    }

    private void RequireEncryptedIfKeyed(ReportArguments args, string instanceId)
    {
        if (args.AuthenticatedInstance is null && keys.HasKey(instanceId))
            throw new RefusedReportException($"instance {instanceId} has an RPC key, and this report was not encrypted with it");
    }
}
