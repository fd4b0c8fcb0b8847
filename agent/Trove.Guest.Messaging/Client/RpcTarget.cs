namespace Trove.Guest.Messaging.Client;

/// <summary>
/// oslo's <c>Target</c> for a client: where a request goes (topic, optionally one server, or every server with fanout)
/// and the API version and namespace it asks for.
/// </summary>
/// <remarks><c>Exchange</c> overrides the client's control exchange.</remarks>
public sealed record RpcTarget(
    string Topic,
    string? Server = null,
    string? Version = null,
    string? Namespace = null,
    bool Fanout = false,
    string? Exchange = null);

/// <summary>Per-call settings.</summary>
public sealed record RpcCallOptions
{
    /// <summary>Reply wait and message expiration; the client's default when null (oslo's <c>rpc_response_timeout</c>, 60 s).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>oslo's <c>call_monitor_timeout</c>: the server sends heartbeats and the call fails when they stop.</summary>
    public int? CallMonitorTimeout { get; init; }

    /// <summary>The request context (flattened into <c>_context_*</c> keys, or encrypted by the serializer).</summary>
    public System.Text.Json.Nodes.JsonObject? Context { get; init; }

    /// <summary>This call's serializer instead of the client's: one connection serves guests with different keys, as Trove's per-instance API does.</summary>
    public Serialization.IRpcSerializer? Serializer { get; init; }
}

/// <summary>Where a client connects.</summary>
public sealed record RpcClientOptions
{
    public required string TransportUrl { get; init; }

    /// <summary>oslo's <c>control_exchange</c>.</summary>
    public string Exchange { get; init; } = "openstack";

    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
