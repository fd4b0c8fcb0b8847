using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Messaging.Client;

/// <summary>
/// An oslo.messaging RPC client on RabbitMQ: call (with a reply), cast and fanout cast. One <c>reply_&lt;hex&gt;</c> queue per
/// client, declared before the first call, collects every reply; replies are matched to callers by <c>_msg_id</c>.
/// Thread-safe: share one client between concurrent callers, as oslo services do.
/// </summary>
public sealed class RpcClient : IAsyncDisposable
{
    private const string ContextPrefix = "_context_";
    private readonly RpcClientOptions _options;
    private readonly IRpcSerializer _serializer;
    private readonly ILogger _logger;
    private readonly OsloTopology _topology;
    private readonly IConnection _connection;
    private readonly IChannel _replyChannel;
    private readonly ConfirmingPublisher _publisher;
    private readonly ConcurrentDictionary<string, PendingCall> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _declaredExchanges = new(StringComparer.Ordinal);

    private RpcClient(RpcClientOptions options, IRpcSerializer serializer, ILogger logger, OsloTopology topology,
        IConnection connection, IChannel replyChannel, ConfirmingPublisher publisher, string replyQueue)
    {
        _options = options;
        _serializer = serializer;
        _logger = logger;
        _topology = topology;
        _connection = connection;
        _replyChannel = replyChannel;
        _publisher = publisher;
        ReplyQueue = replyQueue;
    }

    /// <summary>This client's reply queue.</summary>
    public string ReplyQueue { get; }

    /// <summary>Connects (retrying until <paramref name="cancellationToken"/> gives up) and declares the reply queue.</summary>
    public static async Task<RpcClient> ConnectAsync(RpcClientOptions options, IRpcSerializer? serializer = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        logger ??= NullLogger.Instance;
        var url = TransportUrl.Parse(options.TransportUrl);
        var driver = RabbitDriverOptions.FromUrl(url);
        var topology = new OsloTopology(driver);
        var connection = await new RabbitConnector(url, driver, logger).ConnectAsync("rpc client", cancellationToken).ConfigureAwait(false);
        try
        {
            var replyChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var replyQueue = await topology.DeclareReplyQueueAsync(replyChannel, cancellationToken).ConfigureAwait(false);
            var publisher = await ConfirmingPublisher.CreateAsync(connection, driver, logger, cancellationToken).ConfigureAwait(false);
            var client = new RpcClient(options, serializer ?? PlainSerializer.Instance, logger, topology, connection, replyChannel, publisher, replyQueue);
            var consumer = new AsyncEventingBasicConsumer(replyChannel);
            consumer.ReceivedAsync += client.OnReplyAsync;
            await replyChannel.BasicConsumeAsync(replyQueue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await connection.CloseAsync(CancellationToken.None).ConfigureAwait(false);
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Calls <paramref name="method"/> and returns its (deserialized) result. Throws <see cref="RemoteErrorException"/>
    /// when the server raised and <see cref="MessagingTimeoutException"/> when no reply came in time. As in oslo, the
    /// timeout runs from the moment the request is published; a broker outage before that only delays the call.
    /// </summary>
    public async Task<JsonNode?> CallAsync(RpcTarget target, string method, JsonObject? args = null,
        RpcCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (target.Fanout) throw new ArgumentException("a call cannot be fanned out (oslo's InvalidTarget)", nameof(target));
        var timeout = options?.Timeout ?? _options.DefaultTimeout;
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "the call timeout must be positive");
        var context = options?.Context ?? new JsonObject();
        var serializer = options?.Serializer ?? _serializer;
        var msgId = MessageIds.New();
        var message = NewRequest(target, method, args, context, serializer);
        message["_msg_id"] = msgId;
        message["_reply_q"] = ReplyQueue;
        message["_timeout"] = options?.CallMonitorTimeout is { } cm ? JsonValue.Create(cm) : null;
        message["_unique_id"] = MessageIds.New();
        AppendContext(message, context, serializer);

        var pending = new PendingCall();
        _pending[msgId] = pending;
        try
        {
            var expiration = ((long)timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            await PublishAsync(target, message, expiration, cancellationToken).ConfigureAwait(false);
            var reply = await pending.WaitAsync(timeout, options?.CallMonitorTimeout, cancellationToken).ConfigureAwait(false);
            if (reply is null) throw new MessagingTimeoutException(msgId, timeout);
            if (reply.Value.Failure is { } failure) throw new RemoteErrorException(failure);
            try
            {
                return serializer.DeserializeEntity(context, reply.Value.Result).Detached();
            }
            catch (RpcSerializationException e)
            {
                throw new RemoteErrorException(new RemoteFailure("DecryptionError", "trove_guest.messaging", $"the reply could not be decrypted: {e.Message}", []));
            }
        }
        finally
        {
            _pending.TryRemove(msgId, out _);
        }
    }

    /// <summary>Sends without waiting for a result; with <see cref="RpcTarget.Fanout"/>, to every server of the topic.</summary>
    public Task CastAsync(RpcTarget target, string method, JsonObject? args = null, JsonObject? context = null,
        CancellationToken cancellationToken = default) => CastAsync(target, method, args, context, serializer: null, cancellationToken);

    /// <summary>A cast with its own serializer (e.g. one guest's key), on this client's connection.</summary>
    public async Task CastAsync(RpcTarget target, string method, JsonObject? args, JsonObject? context, IRpcSerializer? serializer,
        CancellationToken cancellationToken = default)
    {
        context ??= new JsonObject();
        serializer ??= _serializer;
        var message = NewRequest(target, method, args, context, serializer);
        message["_unique_id"] = MessageIds.New();
        AppendContext(message, context, serializer);
        await PublishAsync(target, message, expiration: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Declares the topic and server queues of an RPC server that may not be running yet, with the attributes its own
    /// declaration will have, so that a cast published now waits for it instead of being dropped by the exchange. Trove's
    /// taskmanager does this before it casts <c>prepare</c> to a guest that is still booting (oslo-wire §12).
    /// </summary>
    public Task DeclareServerQueuesAsync(string topic, string server, CancellationToken cancellationToken = default) =>
        OnOwnChannelAsync(async channel =>
        {
            await _topology.DeclareTopicQueueAsync(channel, _options.Exchange, topic, cancellationToken).ConfigureAwait(false);
            await _topology.DeclareTopicQueueAsync(channel, _options.Exchange, OsloTopology.ServerQueue(topic, server), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Deletes the topic and server queues of a server that is gone for good (a deleted instance's guest), with what they still hold.</summary>
    public Task DeleteServerQueuesAsync(string topic, string server, CancellationToken cancellationToken = default) =>
        OnOwnChannelAsync(async channel =>
        {
            foreach (var queue in new[] { topic, OsloTopology.ServerQueue(topic, server) })
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// A channel of its own, so that a refused declaration (406) closes it and not the reply or publish channel. A
    /// connection lost meanwhile is waited out, as a publish waits it out; a refusal is the caller's error.
    /// </summary>
    private Task OnOwnChannelAsync(Func<IChannel, Task> work, CancellationToken ct) =>
        BrokerRetry.UntilDoneAsync(async () =>
        {
            var channel = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
            try
            {
                await work(channel).ConfigureAwait(false);
                await channel.CloseAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                channel.Dispose();
            }
        }, e => BrokerErrors.IsConnectionLoss(e) && !BrokerErrors.IsRefusal(e), "Queue declaration or deletion", _topology.Options, _logger, ct);

    private static JsonObject NewRequest(RpcTarget target, string method, JsonObject? args, JsonObject context, IRpcSerializer serializer)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        var serializedArgs = new JsonObject();
        if (args is not null)
        {
            foreach (var (name, value) in args) serializedArgs[name] = serializer.SerializeEntity(context, value?.DeepClone());
        }
        var message = new JsonObject { ["method"] = method, ["args"] = serializedArgs };
        if (target.Namespace is not null) message["namespace"] = target.Namespace;
        if (target.Version is not null) message["version"] = target.Version;
        return message;
    }

    private static void AppendContext(JsonObject message, JsonObject context, IRpcSerializer serializer)
    {
        foreach (var (key, value) in serializer.SerializeContext(context)) message[ContextPrefix + key] = value?.DeepClone();
    }

    private async Task PublishAsync(RpcTarget target, JsonObject message, string? expiration, CancellationToken ct)
    {
        string exchange, routingKey;
        if (target.Fanout)
        {
            exchange = OsloTopology.FanoutExchange(target.Topic);
            routingKey = "";
            await EnsureDeclaredAsync(exchange, c => _topology.DeclareFanoutExchangeAsync(c, target.Topic, ct)).ConfigureAwait(false);
        }
        else
        {
            exchange = target.Exchange ?? _options.Exchange;
            routingKey = target.Server is null ? target.Topic : OsloTopology.ServerQueue(target.Topic, target.Server);
            await EnsureDeclaredAsync(exchange, c => _topology.DeclareControlExchangeAsync(c, exchange, ct)).ConfigureAwait(false);
        }
        await _publisher.PublishAsync(exchange, routingKey, mandatory: false, OsloEnvelope.Wrap(message), expiration, ct).ConfigureAwait(false);
    }

    /// <summary>oslo declares the exchange before publishing to it; once per exchange is enough (recovery re-declares it).</summary>
    private async Task EnsureDeclaredAsync(string exchange, Func<IChannel, Task> declare)
    {
        var task = _declaredExchanges.GetOrAdd(exchange, _ => declare(_publisher.Channel));
        try
        {
            await task.ConfigureAwait(false);
        }
        catch
        {
            _declaredExchanges.TryRemove(exchange, out _);
            throw;
        }
    }

    private async Task OnReplyAsync(object sender, BasicDeliverEventArgs delivery)
    {
        try
        {
            await _replyChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false).ConfigureAwait(false);
        }
        catch (Exception e) when (BrokerErrors.IsConnectionLoss(e))
        {
        }
        JsonObject reply;
        try
        {
            reply = OsloEnvelope.Unwrap(delivery.Body);
        }
        catch (MalformedMessageException e)
        {
            _logger.LogWarning("Dropping an unreadable reply: {Reason}", e.Message);
            return;
        }
        var msgId = reply["_msg_id"].AsString();
        if (msgId is null || !_pending.TryGetValue(msgId, out var pending))
        {
            _logger.LogInformation("No calling threads waiting for msg_id {MessageId}; dropping the reply", msgId);
            return;
        }
        RemoteFailure? failure = null;
        if (reply["failure"].AsString() is { } f) failure = RemoteFailure.Parse(f);
        var ending = reply["ending"] is JsonValue e2 && e2.GetValueKind() == JsonValueKind.True;
        pending.OnMessage(reply["result"]?.DeepClone(), failure, ending);
    }

    public async ValueTask DisposeAsync()
    {
        await _publisher.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _replyChannel.CloseAsync().ConfigureAwait(false);
            await _connection.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (BrokerErrors.IsConnectionLoss(e))
        {
        }
        _replyChannel.Dispose();
        _connection.Dispose();
    }

    private readonly record struct Reply(JsonNode? Result, RemoteFailure? Failure);

    /// <summary>
    /// One call waiting for its reply: keeps the last non-null result (covering the old two-message form), restarts
    /// the call-monitor timer on heartbeats, and completes on <c>ending: true</c> (oslo's ReplyWaiter).
    /// </summary>
    private sealed class PendingCall
    {
        private readonly TaskCompletionSource<Reply> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private JsonNode? _result;
        private RemoteFailure? _failure;
        private long _lastHeardTicks = Environment.TickCount64;

        public void OnMessage(JsonNode? result, RemoteFailure? failure, bool ending)
        {
            lock (_lock)
            {
                Volatile.Write(ref _lastHeardTicks, Environment.TickCount64);
                if (failure is not null) _failure = failure;
                else if (result is not null) _result = result;
                if (ending) _done.TrySetResult(new Reply(_result, _failure));
            }
        }

        /// <summary>The reply, or null on timeout.</summary>
        public async Task<Reply?> WaitAsync(TimeSpan timeout, int? callMonitorTimeout, CancellationToken ct)
        {
            if (callMonitorTimeout is null)
            {
                // The common case (Trove never asks for heartbeats): one timer-backed wait, no polling.
                try
                {
                    return await _done.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return null;
                }
            }
            var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            Volatile.Write(ref _lastHeardTicks, Environment.TickCount64);
            while (true)
            {
                var now = Environment.TickCount64;
                var wait = Math.Min(deadline - now, Volatile.Read(ref _lastHeardTicks) + callMonitorTimeout.Value * 1000L - now);
                if (wait <= 0) return null;
                try
                {
                    return await _done.Task.WaitAsync(TimeSpan.FromMilliseconds(wait), ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // A heartbeat may have moved the call-monitor deadline: look again.
                }
            }
        }
    }
}
