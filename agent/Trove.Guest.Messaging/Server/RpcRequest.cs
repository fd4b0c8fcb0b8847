using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Server;

/// <summary>One dispatched request, as an endpoint method sees it.</summary>
public sealed class RpcRequest(string method, JsonObject context, RpcArguments arguments, string? messageId)
{
    public string Method { get; } = method;

    /// <summary>The request context (oslo's ctxt dict, decrypted), with <c>client_timeout</c> added as oslo does.</summary>
    public JsonObject Context { get; } = context;

    public RpcArguments Arguments { get; } = arguments;

    /// <summary>The caller's <c>_msg_id</c>; null for a cast.</summary>
    public string? MessageId { get; } = messageId;

    public bool IsCall => MessageId is not null;
}

/// <summary>An endpoint method: gets the request, returns the result (ignored for casts).</summary>
public delegate ValueTask<JsonNode?> RpcHandler(RpcRequest request, CancellationToken cancellationToken);
