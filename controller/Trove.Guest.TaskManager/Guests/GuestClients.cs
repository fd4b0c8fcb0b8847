using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;

namespace Trove.Guest.TaskManager.Guests;

/// <summary>
/// Hands out a <see cref="GuestClient"/> per instance over one shared RPC connection; each guest's calls are encrypted
/// with its own key (Trove's <c>instance_rpc_encr_key</c>) when it has one.
/// </summary>
public sealed class GuestClients(RpcClient rpc, GuestTimeouts? timeouts = null)
{
    public GuestTimeouts Timeouts { get; } = timeouts ?? new GuestTimeouts();

    public GuestClient For(string instanceId, string? rpcKey, JsonObject? context = null) =>
        new(rpc, instanceId, Timeouts, context, rpcKey is null ? null : SecureSerializer.ForTroveKey(rpcKey));
}
