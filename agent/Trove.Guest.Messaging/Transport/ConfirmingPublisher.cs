using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// Publishes on a channel with publisher confirms (as every oslo send channel does) with oslo's properties, and keeps
/// trying through a broker restart with oslo's growing pause until the caller's token gives up. A message the broker
/// returns (mandatory, no route) surfaces as <see cref="UnroutableMessageException"/>.
/// </summary>
public sealed class ConfirmingPublisher : IAsyncDisposable
{
    private readonly IChannel _channel;
    private readonly RabbitDriverOptions _options;
    private readonly ILogger _logger;

    private ConfirmingPublisher(IChannel channel, RabbitDriverOptions options, ILogger logger)
    {
        _channel = channel;
        _options = options;
        _logger = logger;
    }

    public IChannel Channel => _channel;

    public static async Task<ConfirmingPublisher> CreateAsync(IConnection connection, RabbitDriverOptions options, ILogger logger, CancellationToken ct)
    {
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            ct).ConfigureAwait(false);
        return new ConfirmingPublisher(channel, options, logger);
    }

    /// <summary>oslo's properties: exact content type (kombu matches it byte for byte), persistent, priority 0, empty headers.</summary>
    public static BasicProperties NewProperties(string? expiration = null) => new()
    {
        ContentType = OsloEnvelope.ContentType,
        ContentEncoding = OsloEnvelope.ContentEncoding,
        DeliveryMode = DeliveryModes.Persistent,
        Priority = 0,
        Headers = new Dictionary<string, object?>(),
        Expiration = expiration,
    };

    public Task PublishAsync(string exchange, string routingKey, bool mandatory, byte[] body, string? expiration, CancellationToken ct) =>
        BrokerRetry.UntilDoneAsync(async () =>
        {
            try
            {
                await _channel.BasicPublishAsync(exchange, routingKey, mandatory, NewProperties(expiration), body, ct).ConfigureAwait(false);
            }
            catch (PublishException e) when (e.IsReturn)
            {
                throw new UnroutableMessageException(exchange, routingKey);
            }
        }, IsTransient, $"Publish to {exchange}/{routingKey}", _options, _logger, ct);

    private static bool IsTransient(Exception e) =>
        e is PublishException || BrokerErrors.IsConnectionLoss(e);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _channel.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (BrokerErrors.IsConnectionLoss(e))
        {
        }
        _channel.Dispose();
    }
}

/// <summary>The broker returned a mandatory message: nothing is bound to its routing key (e.g. a reply queue is gone).</summary>
public sealed class UnroutableMessageException(string exchange, string routingKey)
    : Exception($"no queue is bound to '{routingKey}' on exchange '{(exchange.Length == 0 ? "(default)" : exchange)}'")
{
    public string RoutingKey { get; } = routingKey;
}
