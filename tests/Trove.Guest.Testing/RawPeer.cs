using System.Text.Json.Nodes;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Testing;

/// <summary>A bare AMQP peer for publishing hand-made messages and reading what comes back, bypassing our library.</summary>
public sealed class RawPeer : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly Channel<(IReadOnlyBasicProperties Props, byte[] Body)> _received = Channel.CreateUnbounded<(IReadOnlyBasicProperties, byte[])>();

    private RawPeer(IConnection connection, IChannel channel, string queue)
    {
        _connection = connection;
        _channel = channel;
        Queue = queue;
    }

    /// <summary>A queue of ours: the reply queue for hand-made calls, or a tap bound to some routing key.</summary>
    public string Queue { get; }

    public static async Task<RawPeer> ConnectAsync(string url, string? tapExchange = null, string? tapRoutingKey = null)
    {
        var host = TransportUrl.Parse(url).Hosts[0];
        var factory = new ConnectionFactory { HostName = host.Host, Port = host.Port, UserName = host.UserName ?? "guest", Password = host.Password ?? "guest" };
        var connection = await factory.CreateConnectionAsync();
        var channel = await connection.CreateChannelAsync();
        var queue = $"reply_{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
            new Dictionary<string, object?> { ["x-expires"] = 1800000 });
        if (tapExchange is not null)
        {
            await channel.ExchangeDeclareAsync(tapExchange, ExchangeType.Topic, durable: false, autoDelete: false);
            await channel.QueueBindAsync(queue, tapExchange, tapRoutingKey!);
        }
        var peer = new RawPeer(connection, channel, queue);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, e) =>
        {
            await peer._received.Writer.WriteAsync((e.BasicProperties, e.Body.ToArray()));
            await channel.BasicAckAsync(e.DeliveryTag, false);
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        return peer;
    }

    public async Task PublishAsync(string exchange, string routingKey, byte[] body, string? contentType = OsloEnvelope.ContentType)
    {
        var props = new BasicProperties { ContentType = contentType, ContentEncoding = "utf-8", DeliveryMode = DeliveryModes.Persistent };
        await _channel.BasicPublishAsync(exchange, routingKey, mandatory: false, props, body);
    }

    /// <summary>Publishes an inner message in a 2.0 envelope (or with the envelope version given).</summary>
    public Task PublishInnerAsync(string exchange, string routingKey, string innerJson, string envelopeVersion = "2.0")
    {
        var envelope = new JsonObject { ["oslo.version"] = envelopeVersion, ["oslo.message"] = innerJson };
        return PublishAsync(exchange, routingKey, System.Text.Encoding.UTF8.GetBytes(envelope.ToJsonString()));
    }

    /// <summary>The next message on our queue, or null.</summary>
    public async Task<(IReadOnlyBasicProperties Props, byte[] Body)?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The next reply, unwrapped, or null.</summary>
    public async Task<JsonObject?> NextReplyAsync(TimeSpan timeout) =>
        await NextAsync(timeout) is { } m ? OsloEnvelope.Unwrap(m.Body) : null;

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
        _channel.Dispose();
        _connection.Dispose();
    }
}
