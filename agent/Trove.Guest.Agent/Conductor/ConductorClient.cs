using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;

namespace Trove.Guest.Agent.Conductor;

/// <summary>
/// What the guest tells trove-conductor (guest-contract §3): casts at version 1.0 on <c>conductor_queue</c>, through
/// Trove's ConductorGuestSerializer when the instance has a key.
/// </summary>
public sealed class ConductorClient(RpcClient client, AgentOptions options, ILogger<ConductorClient> logger)
{
    private readonly RpcTarget _target = new(options.ConductorQueue, Version: "1.0");
    private readonly Lock _clock = new();
    private double _lastSent;

    /// <summary>The serializer for conductor traffic: Trove's guest-side conductor serializer with a key, else plain.</summary>
    public static IRpcSerializer SerializerFor(AgentOptions options) =>
        options.InstanceRpcEncrKey is { } key
            ? new ConductorGuestSerializer(new TroveCbcCipher(key), options.GuestId)
            : PlainSerializer.Instance;

    /// <summary>
    /// A strictly increasing UTC epoch-seconds timestamp: the conductor drops anything not newer than what it saw last
    /// for the same method, so two reports in the same microsecond must still differ.
    /// </summary>
    public double NextSent()
    {
        lock (_clock)
        {
            var now = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
            now = Math.Round(now, 6);
            _lastSent = now > _lastSent ? now : _lastSent + 0.000001;
            return _lastSent;
        }
    }

    public Task HeartbeatAsync(string status, CancellationToken ct) =>
        CastAsync("heartbeat", new JsonObject
        {
            ["instance_id"] = options.GuestId,
            ["sent"] = NextSent(),
            ["payload"] = new JsonObject { ["service_status"] = status },
        }, ct);

    /// <summary>update_backup (guest-contract §3.1): <paramref name="fields"/> are backup columns (state, size, checksum, location, backup_type...).</summary>
    public Task UpdateBackupAsync(string backupId, JsonObject fields, CancellationToken ct)
    {
        var args = new JsonObject { ["instance_id"] = options.GuestId, ["backup_id"] = backupId, ["sent"] = NextSent() };
        foreach (var (key, value) in fields) args[key] = value?.DeepClone();
        return CastAsync("update_backup", args, ct);
    }

    public Task ReportRootAsync(CancellationToken ct) =>
        CastAsync("report_root", new JsonObject { ["instance_id"] = options.GuestId, ["user"] = "root" }, ct);

    public Task NotifyEndAsync(JsonObject notification, CancellationToken ct) =>
        CastAsync("notify_end", new JsonObject { ["serialized_notification"] = notification, ["notification_args"] = new JsonObject() }, ct);

    public Task NotifyErrorAsync(JsonObject notification, string message, IReadOnlyList<string> traceback, CancellationToken ct)
    {
        var payload = (JsonObject)notification.DeepClone();
        payload["instance_id"] = options.GuestId;
        var lines = new JsonArray();
        foreach (var line in traceback) lines.Add((JsonNode)line);
        return CastAsync("notify_exc_info", new JsonObject { ["serialized_notification"] = payload, ["message"] = message, ["exception"] = lines }, ct);
    }

    private async Task CastAsync(string method, JsonObject args, CancellationToken ct)
    {
        // A fresh, empty request context, as the Python guest sends.
        await client.CastAsync(_target, method, args, new JsonObject(), ct).ConfigureAwait(false);
        logger.LogDebug("Sent {Method} to the conductor", method);
    }
}
