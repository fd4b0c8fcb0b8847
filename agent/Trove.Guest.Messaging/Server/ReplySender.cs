using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Messaging.Server;

/// <summary>
/// Sends replies and call-monitor heartbeats to a caller's <c>reply_*</c> queue through the default exchange, mandatory,
/// as oslo does. When the queue is missing (the broker returns the reply), it retries every 250 ms for
/// <c>kombu_missing_consumer_retry_timeout</c> (60 s), so a caller that is reconnecting still gets its answer, then
/// abandons the reply and drops later ones to that queue for 60 s.
/// </summary>
internal sealed class ReplySender(ConfirmingPublisher publisher, RabbitDriverOptions options, ILogger logger)
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ObsoleteFor = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, DateTime> _obsolete = new(StringComparer.Ordinal);

    public Task SendResultAsync(string replyQueue, string messageId, JsonNode? result, CancellationToken ct) =>
        SendAsync(replyQueue, messageId, new JsonObject { ["result"] = result, ["failure"] = null, ["ending"] = true }, ct);

    public Task SendFailureAsync(string replyQueue, string messageId, RemoteFailure failure, CancellationToken ct) =>
        SendAsync(replyQueue, messageId, new JsonObject { ["result"] = null, ["failure"] = failure.ToJson(), ["ending"] = true }, ct);

    /// <summary>A call-monitor heartbeat: no result, no failure, not the end.</summary>
    public Task SendHeartbeatAsync(string replyQueue, string messageId, CancellationToken ct) =>
        SendAsync(replyQueue, messageId, new JsonObject { ["result"] = null, ["failure"] = null, ["ending"] = false }, ct);

    private async Task SendAsync(string replyQueue, string messageId, JsonObject reply, CancellationToken ct)
    {
        if (_obsolete.TryGetValue(replyQueue, out var until))
        {
            if (until > DateTime.UtcNow)
            {
                logger.LogInformation("Reply queue {Queue} is gone; dropping reply to {MessageId}", replyQueue, messageId);
                return;
            }
            _obsolete.TryRemove(replyQueue, out _);
        }
        reply["_msg_id"] = messageId;
        reply["_unique_id"] = MessageIds.New();
        var body = OsloEnvelope.Wrap(reply);
        var deadline = DateTime.UtcNow + options.MissingReplyQueueTimeout;
        while (true)
        {
            try
            {
                await publisher.PublishAsync("", replyQueue, mandatory: true, body, expiration: null, ct).ConfigureAwait(false);
                return;
            }
            catch (UnroutableMessageException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(RetryPause, ct).ConfigureAwait(false);
            }
            catch (UnroutableMessageException)
            {
                logger.LogWarning("The reply {MessageId} failed to send after {Seconds} s due to a missing queue ({Queue}). Abandoning",
                    messageId, options.MissingReplyQueueTimeout.TotalSeconds, replyQueue);
                _obsolete[replyQueue] = DateTime.UtcNow + ObsoleteFor;
                return;
            }
        }
    }
}
