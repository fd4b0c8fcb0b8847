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

namespace Trove.Guest.Messaging.Server;

/// <summary>
/// An oslo.messaging RPC server on RabbitMQ: consumes <c>&lt;topic&gt;</c>, <c>&lt;topic&gt;.&lt;server&gt;</c> and a fanout
/// queue, acknowledges each request on receipt (oslo's at-most-once), drops duplicates, runs up to
/// <see cref="RpcServerOptions.MaxConcurrency"/> requests at once and replies to calls. Malformed messages are rejected
/// with a log line, or answered with an error when they name a reply queue; the server itself never stops for them.
/// </summary>
public sealed class RpcServer : IAsyncDisposable
{
    private const string ContextPrefix = "_context_";
    private readonly RpcServerOptions _options;
    private readonly RpcDispatcher _dispatcher;
    private readonly IRpcSerializer _serializer;
    private readonly ILogger _logger;
    private long _handled;
    private readonly RabbitConnector _connector;
    private readonly OsloTopology _topology;
    private readonly DuplicateFilter _duplicates = new();
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<string> _consumerTags = [];
    private IConnection? _connection;
    private IChannel? _consumeChannel;
    private ConfirmingPublisher? _publisher;
    private ReplySender? _replies;
    private int _stopped;

    /// <summary>Requests handled so far (answered, failed or cast): lets a host tell busy from idle.</summary>
    public long HandledRequests => Interlocked.Read(ref _handled);

    /// <summary>Requests being handled right now.</summary>
    public int RequestsInFlight => _options.MaxConcurrency - _slots.CurrentCount;

    public RpcServer(RpcServerOptions options, RpcDispatcher dispatcher, IRpcSerializer? serializer = null, ILogger? logger = null)
    {
        _options = options;
        _dispatcher = dispatcher;
        _serializer = serializer ?? PlainSerializer.Instance;
        _logger = logger ?? NullLogger.Instance;
        var url = TransportUrl.Parse(options.TransportUrl);
        var driver = RabbitDriverOptions.FromUrl(url);
        _connector = new RabbitConnector(url, driver, _logger);
        _topology = new OsloTopology(driver);
        _slots = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    /// <summary>The per-process fanout queue, once started.</summary>
    public string? FanoutQueue { get; private set; }

    /// <summary>Connects (retrying until <paramref name="cancellationToken"/> gives up), declares the queues and consumes.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await _connector.ConnectAsync($"rpc server {_options.Topic}.{_options.Server}", cancellationToken).ConfigureAwait(false);
        _publisher = await ConfirmingPublisher.CreateAsync(_connection, _topology.Options, _logger, cancellationToken).ConfigureAwait(false);
        _replies = new ReplySender(_publisher, _topology.Options, _logger);
        var channel = _consumeChannel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (_topology.Options.PrefetchCount > 0)
            await channel.BasicQosAsync(0, _topology.Options.PrefetchCount, global: false, cancellationToken).ConfigureAwait(false);

        var serverQueue = OsloTopology.ServerQueue(_options.Topic, _options.Server);
        await _topology.DeclareTopicQueueAsync(channel, _options.Exchange, _options.Topic, cancellationToken).ConfigureAwait(false);
        await _topology.DeclareTopicQueueAsync(channel, _options.Exchange, serverQueue, cancellationToken).ConfigureAwait(false);
        FanoutQueue = await _topology.DeclareFanoutQueueAsync(channel, _options.Topic, cancellationToken).ConfigureAwait(false);

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnReceivedAsync;
        foreach (var queue in new[] { _options.Topic, serverQueue, FanoutQueue })
        {
            _consumerTags.Add(await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false));
        }
        _logger.LogInformation("RPC server listening on {Exchange}: {Topic}, {ServerQueue}, {FanoutQueue}",
            _options.Exchange, _options.Topic, serverQueue, FanoutQueue);
    }

    /// <summary>
    /// Stops consuming, lets requests in progress finish (cancelling them after <see cref="RpcServerOptions.StopTimeout"/>
    /// or when <paramref name="cancellationToken"/> fires), deletes the fanout queue as oslo does, and disconnects.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        var channel = _consumeChannel;
        if (channel is not null)
        {
            foreach (var tag in _consumerTags)
            {
                await IgnoreBrokerErrors(() => channel.BasicCancelAsync(tag, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
        }

        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(_options.StopTimeout);
        var drained = 0;
        try
        {
            for (; drained < _options.MaxConcurrency; drained++) await _slots.WaitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("Requests still running after the stop timeout; cancelling them");
            await _abort.CancelAsync().ConfigureAwait(false);
        }

        if (channel is not null && FanoutQueue is not null)
        {
            var queue = FanoutQueue;
            await IgnoreBrokerErrors(() => channel.QueueDeleteAsync(queue, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        }
        await DisposeConnectionAsync().ConfigureAwait(false);
        _logger.LogInformation("RPC server {Topic}.{Server} stopped", _options.Topic, _options.Server);
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        JsonObject message;
        try
        {
            message = Decode(delivery);
        }
        catch (MalformedMessageException e)
        {
            if (e.Salvaged is { } salvaged && salvaged["_msg_id"].AsString() is { } msgId && salvaged["_reply_q"].AsString() is { } replyQ)
            {
                _logger.LogWarning("Refusing message {MessageId}: {Reason}", msgId, e.Message);
                await AckAsync(channel, delivery.DeliveryTag).ConfigureAwait(false);
                await ReplyFailureAsync(replyQ, msgId, RpcFailureException.InvalidMessage(e.Message)).ConfigureAwait(false);
                return;
            }
            _logger.LogWarning("Failed to process message from {Exchange}/{RoutingKey}: {Reason}; rejecting it",
                delivery.Exchange, delivery.RoutingKey, e.Message);
            await IgnoreBrokerErrors(() => channel.BasicRejectAsync(delivery.DeliveryTag, requeue: false).AsTask()).ConfigureAwait(false);
            return;
        }

        // Ack first, then run: a request in progress when the server dies is lost, never run twice (as oslo).
        if (!await AckAsync(channel, delivery.DeliveryTag).ConfigureAwait(false)) return;
        await _slots.WaitAsync().ConfigureAwait(false);
        _ = Task.Run(async () =>
        {
            try
            {
                await ProcessAsync(message).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Unexpected error while processing an RPC request");
            }
            finally
            {
                _slots.Release();
            }
        });
    }

    private JsonObject Decode(BasicDeliverEventArgs delivery)
    {
        if (delivery.Body.Length > _options.MaxMessageBytes)
            throw new MalformedMessageException($"body of {delivery.Body.Length} bytes exceeds the limit of {_options.MaxMessageBytes}");
        if (delivery.BasicProperties.ContentType != OsloEnvelope.ContentType)
            throw new MalformedMessageException($"content type '{delivery.BasicProperties.ContentType}' is not {OsloEnvelope.ContentType}");
        // The JSON reader checks UTF-8 only in the strings it is asked to read; check the whole body up front.
        if (!System.Text.Unicode.Utf8.IsValid(delivery.Body.Span))
            throw new MalformedMessageException("body is not valid UTF-8");
        return OsloEnvelope.Unwrap(delivery.Body);
    }

    private async Task ProcessAsync(JsonObject message)
    {
        var msgId = message["_msg_id"].AsString();
        var replyQueue = message["_reply_q"].AsString();
        var uniqueId = message["_unique_id"].AsString();
        if (uniqueId is not null && !_duplicates.TryAdd(uniqueId))
        {
            _logger.LogInformation("Ignoring duplicate message {UniqueId} ({MessageId})", uniqueId, msgId);
            return;
        }
        if (msgId is not null && replyQueue is null)
            _logger.LogWarning("Call {MessageId} names no reply queue; running it without a reply", msgId);
        var replyTo = msgId is not null && replyQueue is not null ? replyQueue : null;

        var timeout = message["_timeout"];
        var rawContext = new JsonObject();
        foreach (var (key, value) in message)
        {
            if (key.StartsWith(ContextPrefix, StringComparison.Ordinal)) rawContext[key[ContextPrefix.Length..]] = value?.DeepClone();
        }

        try
        {
            var method = message["method"] is JsonValue m && m.GetValueKind() == JsonValueKind.String
                ? m.AsString() ?? throw RpcFailureException.InvalidMessage("the method name is not valid text")
                : throw RpcFailureException.TypeError("the request has no 'method' (a string)");
            var rawArgs = message["args"] switch
            {
                null when !message.ContainsKey("args") => new JsonObject(),
                JsonObject o => o,
                var other => throw RpcFailureException.TypeError($"'args' must be a JSON object, not {Describe(other)}"),
            };
            var handler = _dispatcher.Resolve(method, message["namespace"].AsString(), message["version"].AsString());
            _logger.LogDebug("Dispatching {Method} ({MessageId})", method, msgId ?? "cast");

            JsonObject context;
            try
            {
                context = _serializer.DeserializeContext(rawContext);
            }
            catch (RpcSerializationException e)
            {
                throw RpcFailureException.Decryption(e.Message);
            }
            context["client_timeout"] = timeout?.DeepClone();

            var args = new JsonObject();
            foreach (var (name, value) in rawArgs)
            {
                EnsureReadable(name, value);
                try
                {
                    args[name] = _serializer.DeserializeEntity(context, value).Detached();
                }
                catch (RpcSerializationException e)
                {
                    throw RpcFailureException.Decryption($"argument '{name}': {e.Message}");
                }
            }

            var request = new RpcRequest(method, context, new RpcArguments(method, args), msgId);
            JsonNode? result;
            using (var heartbeats = StartHeartbeats(replyTo, msgId, timeout))
            {
                try
                {
                    result = await handler(request, _abort.Token).ConfigureAwait(false);
                }
                finally
                {
                    await heartbeats.StopAsync().ConfigureAwait(false);
                }
            }
            if (replyTo is not null)
                await _replies!.SendResultAsync(replyTo, msgId!, _serializer.SerializeEntity(context, result).Detached(), _abort.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_abort.IsCancellationRequested)
        {
            if (e is RpcFailureException)
                _logger.LogInformation("RPC request {MessageId} failed: {Error}", msgId ?? "cast", e.Message);
            else
                _logger.LogError(e, "RPC request {MessageId} raised", msgId ?? "cast");
            if (replyTo is not null) await ReplyFailureAsync(replyTo, msgId!, e).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _handled);
    }

    private Task ReplyFailureAsync(string replyQueue, string msgId, Exception e)
    {
        var failure = e is RpcFailureException f
            ? new RemoteFailure(f.ClassName, f.Module, f.Message, [])
            : new RemoteFailure(e.GetType().Name, e.GetType().Namespace ?? "", e.Message, Traceback(e));
        return _replies!.SendFailureAsync(replyQueue, msgId, failure, _abort.Token);
    }

    private static List<string> Traceback(Exception e) =>
        (e.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd() + "\n").ToList();

    private Heartbeats StartHeartbeats(string? replyTo, string? msgId, JsonNode? timeout)
    {
        // oslo sends call-monitor heartbeats every _timeout/2 seconds, and only when that is at least 1 s. A heartbeat
        // to a caller that did not ask for them crashes the Python client, so none without a numeric _timeout.
        if (replyTo is null || msgId is null || timeout is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
            return Heartbeats.None;
        var interval = Math.Truncate(v.GetValue<double>()) / 2;
        if (interval < 1) return Heartbeats.None;
        return new Heartbeats(async ct =>
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(interval), ct).ConfigureAwait(false);
                await _replies!.SendHeartbeatAsync(replyTo, msgId, ct).ConfigureAwait(false);
            }
        });
    }

    private sealed class Heartbeats : IDisposable
    {
        public static readonly Heartbeats None = new(null);
        private readonly CancellationTokenSource? _stop;
        private readonly Task _loop = Task.CompletedTask;

        public Heartbeats(Func<CancellationToken, Task>? loop)
        {
            if (loop is null) return;
            _stop = new CancellationTokenSource();
            _loop = Task.Run(() => loop(_stop.Token));
        }

        public async Task StopAsync()
        {
            if (_stop is null) return;
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose() => _stop?.Dispose();
    }

    /// <summary>Python accepts lone surrogates in JSON strings; .NET cannot hold them as text. Refuse them clearly.</summary>
    private static void EnsureReadable(string name, JsonNode? node)
    {
        try
        {
            Walk(node);
        }
        catch (InvalidOperationException)
        {
            throw RpcFailureException.ValueError($"argument '{name}' contains text that is not valid Unicode (a lone UTF-16 surrogate)");
        }

        static void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (_, child) in o) Walk(child);
                    break;
                case JsonArray a:
                    foreach (var child in a) Walk(child);
                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    _ = v.GetValue<string>();
                    break;
            }
        }
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            _ => v.GetValueKind().ToString().ToLower(CultureInfo.InvariantCulture),
        },
        _ => "a " + node.GetValueKind().ToString().ToLower(CultureInfo.InvariantCulture),
    };

    private async Task<bool> AckAsync(IChannel channel, ulong tag)
    {
        try
        {
            await channel.BasicAckAsync(tag, multiple: false).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (BrokerErrors.IsConnectionLoss(e))
        {
            // oslo drops the request when the ack fails: the broker will redeliver it to someone.
            _logger.LogWarning("Could not acknowledge a request ({Reason}); leaving it to the broker", e.Message);
            return false;
        }
    }

    private static async Task IgnoreBrokerErrors(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e) when (BrokerErrors.IsConnectionLoss(e))
        {
        }
    }

    private async Task DisposeConnectionAsync()
    {
        if (_publisher is not null) await _publisher.DisposeAsync().ConfigureAwait(false);
        if (_consumeChannel is not null)
        {
            await IgnoreBrokerErrors(() => _consumeChannel.CloseAsync()).ConfigureAwait(false);
            _consumeChannel.Dispose();
        }
        if (_connection is not null)
        {
            await IgnoreBrokerErrors(() => _connection.CloseAsync()).ConfigureAwait(false);
            _connection.Dispose();
        }
        _publisher = null;
        _consumeChannel = null;
        _connection = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _abort.Dispose();
        _slots.Dispose();
    }
}
