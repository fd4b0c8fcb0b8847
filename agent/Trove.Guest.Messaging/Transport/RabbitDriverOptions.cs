using System.Globalization;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// The <c>[oslo_messaging_rabbit]</c> options that change what goes on the wire. Peers sharing a broker must agree on
/// them, or RabbitMQ refuses the second declaration with 406 PRECONDITION_FAILED (oslo-wire §2.3–2.4). They come from
/// the transport URL's query, as oslo reads them there.
/// </summary>
public sealed record RabbitDriverOptions
{
    public bool DurableQueues { get; init; }
    public bool AutoDelete { get; init; }
    public bool HaQueues { get; init; }
    public bool QuorumQueues { get; init; }
    public int QuorumDeliveryLimit { get; init; }
    public TimeSpan TransientQueuesTtl { get; init; } = TimeSpan.FromSeconds(1800);
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan RetryIntervalMax { get; init; } = TimeSpan.FromSeconds(30);
    public ushort PrefetchCount { get; init; }
    public TimeSpan MissingReplyQueueTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public bool Ssl { get; init; }
    public string? SslCaFile { get; init; }
    public string? SslCertFile { get; init; }
    public string? SslKeyFile { get; init; }

    /// <summary>Queues and the control exchange are durable when asked, and always for quorum queues.</summary>
    public bool EffectiveDurable => DurableQueues || QuorumQueues;

    public static RabbitDriverOptions FromUrl(TransportUrl url)
    {
        var o = url.Options;
        var options = new RabbitDriverOptions
        {
            DurableQueues = Bool(o, "amqp_durable_queues", false),
            AutoDelete = Bool(o, "amqp_auto_delete", false),
            HaQueues = Bool(o, "rabbit_ha_queues", false),
            QuorumQueues = Bool(o, "rabbit_quorum_queue", false),
            QuorumDeliveryLimit = Int(o, "rabbit_quorum_delivery_limit", 0),
            TransientQueuesTtl = Seconds(o, "rabbit_transient_queues_ttl", 1800),
            Heartbeat = Seconds(o, "heartbeat_timeout_threshold", 60),
            RetryInterval = Seconds(o, "rabbit_retry_interval", 1),
            RetryBackoff = Seconds(o, "rabbit_retry_backoff", 2),
            RetryIntervalMax = Seconds(o, "rabbit_interval_max", 30),
            PrefetchCount = (ushort)Math.Clamp(Int(o, "rabbit_qos_prefetch_count", 0), 0, ushort.MaxValue),
            MissingReplyQueueTimeout = Seconds(o, "kombu_missing_consumer_retry_timeout", 60),
            Ssl = Bool(o, "ssl", false) || Bool(o, "rabbit_use_ssl", false),
            SslCaFile = o.GetValueOrDefault("ssl_ca_file"),
            SslCertFile = o.GetValueOrDefault("ssl_cert_file"),
            SslKeyFile = o.GetValueOrDefault("ssl_key_file"),
        };
        if (options.HaQueues && options.QuorumQueues)
            throw new FormatException("rabbit_ha_queues and rabbit_quorum_queue cannot both be set (oslo refuses the pair too)");
        return options;
    }

    /// <summary>Arguments of the topic and server queues.</summary>
    public Dictionary<string, object?> DurableQueueArguments()
    {
        var args = new Dictionary<string, object?>();
        if (QuorumQueues)
        {
            args["x-queue-type"] = "quorum";
            if (QuorumDeliveryLimit > 0) args["x-delivery-limit"] = QuorumDeliveryLimit;
        }
        if (HaQueues) args["x-ha-policy"] = "all";
        return args;
    }

    /// <summary>Arguments of fanout and reply queues: an <c>x-expires</c> (32-bit int, as oslo sends it) plus HA.</summary>
    public Dictionary<string, object?> TransientQueueArguments()
    {
        // Same order as oslo (HA arguments first, then x-expires), so brokers list them identically.
        var args = new Dictionary<string, object?>();
        if (HaQueues) args["x-ha-policy"] = "all";
        args["x-expires"] = (int)TransientQueuesTtl.TotalMilliseconds;
        return args;
    }

    /// <summary>oslo's reconnect delay for the n-th attempt (0-based): interval + n × backoff, capped.</summary>
    public TimeSpan ReconnectDelay(int attempt)
    {
        var delay = RetryInterval + RetryBackoff * attempt;
        return delay > RetryIntervalMax ? RetryIntervalMax : delay;
    }

    private static bool Bool(IReadOnlyDictionary<string, string> o, string key, bool fallback)
    {
        if (!o.TryGetValue(key, out var v)) return fallback;
        return v.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" or "on" => true,
            "0" or "false" or "no" or "off" or "" => false,
            _ => throw new FormatException($"transport URL option {key}={v} is not a boolean"),
        };
    }

    private static int Int(IReadOnlyDictionary<string, string> o, string key, int fallback) =>
        !o.TryGetValue(key, out var v) ? fallback
        : int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 ? i
        : throw new FormatException($"transport URL option {key}={v} is not a non-negative integer");

    private static TimeSpan Seconds(IReadOnlyDictionary<string, string> o, string key, double fallback) =>
        !o.TryGetValue(key, out var v) ? TimeSpan.FromSeconds(fallback)
        : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 ? TimeSpan.FromSeconds(d)
        : throw new FormatException($"transport URL option {key}={v} is not a number of seconds");
}
