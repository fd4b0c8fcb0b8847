namespace Trove.Guest.Messaging.Server;

/// <summary>Where an RPC server listens, and how much it takes on at once.</summary>
public sealed record RpcServerOptions
{
    /// <summary>oslo's <c>transport_url</c>.</summary>
    public required string TransportUrl { get; init; }

    /// <summary>oslo's <c>control_exchange</c>; Trove deployments use <c>trove</c>.</summary>
    public string Exchange { get; init; } = "openstack";

    public required string Topic { get; init; }

    /// <summary>The server name: requests to <c>&lt;topic&gt;.&lt;server&gt;</c> reach only this server.</summary>
    public required string Server { get; init; }

    /// <summary>Requests run at once (oslo's <c>executor_thread_pool_size</c>, 64).</summary>
    public int MaxConcurrency { get; init; } = 64;

    /// <summary>Larger bodies are rejected without being parsed.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>How long a stop waits for requests in progress before cancelling them.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
