using RabbitMQ.Client;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// Declares broker objects exactly as oslo's rabbit driver does (oslo-wire §2), so that Python and C# peers can share
/// one broker in any mix without a 406 PRECONDITION_FAILED.
/// </summary>
public sealed class OsloTopology(RabbitDriverOptions options)
{
    public RabbitDriverOptions Options { get; } = options;

    public static string FanoutExchange(string topic) => topic + "_fanout";
    public static string ServerQueue(string topic, string server) => topic + "." + server;

    /// <summary>The control exchange (topic type).</summary>
    public Task DeclareControlExchangeAsync(IChannel channel, string exchange, CancellationToken ct = default) =>
        channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, Options.EffectiveDurable, Options.AutoDelete,
            arguments: null, cancellationToken: ct);

    /// <summary>A topic or server queue bound to the control exchange with its own name as routing key.</summary>
    public async Task DeclareTopicQueueAsync(IChannel channel, string exchange, string queue, CancellationToken ct = default)
    {
        await DeclareControlExchangeAsync(channel, exchange, ct).ConfigureAwait(false);
        await channel.QueueDeclareAsync(queue, Options.EffectiveDurable, exclusive: false, Options.AutoDelete,
            Options.DurableQueueArguments(), cancellationToken: ct).ConfigureAwait(false);
        await channel.QueueBindAsync(queue, exchange, queue, cancellationToken: ct).ConfigureAwait(false);
    }

    /// <summary>The fanout exchange of a topic: never durable, auto-delete (not prefixed by the control exchange).</summary>
    public Task DeclareFanoutExchangeAsync(IChannel channel, string topic, CancellationToken ct = default) =>
        channel.ExchangeDeclareAsync(FanoutExchange(topic), ExchangeType.Fanout, durable: false, autoDelete: true,
            arguments: null, cancellationToken: ct);

    /// <summary>A per-process fanout queue <c>&lt;topic&gt;_fanout_&lt;hex&gt;</c>, returned by name.</summary>
    public async Task<string> DeclareFanoutQueueAsync(IChannel channel, string topic, CancellationToken ct = default)
    {
        await DeclareFanoutExchangeAsync(channel, topic, ct).ConfigureAwait(false);
        var queue = $"{topic}_fanout_{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
            Options.TransientQueueArguments(), cancellationToken: ct).ConfigureAwait(false);
        await channel.QueueBindAsync(queue, FanoutExchange(topic), topic, cancellationToken: ct).ConfigureAwait(false);
        return queue;
    }

    /// <summary>A client's <c>reply_&lt;hex&gt;</c> queue: unbound, it receives through the default exchange.</summary>
    public async Task<string> DeclareReplyQueueAsync(IChannel channel, CancellationToken ct = default)
    {
        var queue = $"reply_{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false,
            Options.TransientQueueArguments(), cancellationToken: ct).ConfigureAwait(false);
        return queue;
    }
}
