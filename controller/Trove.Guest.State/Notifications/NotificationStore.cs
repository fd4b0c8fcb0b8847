namespace Trove.Guest.State.Notifications;

/// <summary>A guest's end-of-operation notification (guest contract §3.5): <c>notify_end</c>, or <c>notify_exc_info</c> with its message.</summary>
public sealed record GuestNotification(string RequestId, string? InstanceId, string Method, string? Message, long ReceivedAt)
{
    public bool Failed => Method == "notify_exc_info";
}

/// <summary>What guests said at the end of cast operations, by the request id the control plane put in the context.</summary>
public sealed class NotificationStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public async Task AddAsync(string requestId, string? instanceId, string method, string? message, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, """
            INSERT INTO guest_notifications (id, request_id, instance_id, method, message, received_at) VALUES (@id, @request, @instance, @method, @message, @now)
            """, ct, ("@id", Guid.NewGuid().ToString()), ("@request", requestId), ("@instance", Sql.Nullable(instanceId)), ("@method", method),
            ("@message", Sql.Nullable(message)), ("@now", _clock.GetUtcNow().ToUnixTimeMilliseconds())).ConfigureAwait(false);
        database.Changes.Pulse();
    }

    /// <summary>The first notification for <paramref name="requestId"/>, or null while none came.</summary>
    public async Task<GuestNotification?> FindAsync(string requestId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return (await Sql.QueryAsync(connection, null,
            "SELECT request_id, instance_id, method, message, received_at FROM guest_notifications WHERE request_id = @request ORDER BY received_at",
            r => new GuestNotification(r.GetString(0), Sql.String(r, 1), r.GetString(2), Sql.String(r, 3), Sql.Long(r, 4) ?? 0), ct, ("@request", requestId))
            .ConfigureAwait(false)).FirstOrDefault();
    }
}
