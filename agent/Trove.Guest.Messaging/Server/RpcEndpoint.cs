using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Server;

/// <summary>
/// A set of RPC methods under one oslo target (namespace and version), like an oslo endpoint object. Methods are
/// registered explicitly with source-generated JSON metadata, so dispatch needs no reflection (Native AOT).
/// </summary>
public sealed class RpcEndpoint
{
    private readonly Dictionary<string, RpcHandler> _methods = new(StringComparer.Ordinal);

    public RpcEndpoint(string version = "1.0", string? @namespace = null)
    {
        Version = RpcVersion.Parse(version);
        Namespace = @namespace;
    }

    public RpcVersion Version { get; }
    public string? Namespace { get; }
    public IEnumerable<string> Methods => _methods.Keys;

    public RpcEndpoint Map(string method, RpcHandler handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        // oslo's default access policy never dispatches names starting with '_'.
        if (method.StartsWith('_')) throw new ArgumentException($"RPC method names cannot start with '_': {method}", nameof(method));
        if (!_methods.TryAdd(method, handler)) throw new ArgumentException($"RPC method {method} is already mapped", nameof(method));
        return this;
    }

    /// <summary>Maps a method whose kwargs bind to <typeparamref name="TArgs"/> and whose result is <typeparamref name="TResult"/>.</summary>
    public RpcEndpoint Map<TArgs, TResult>(string method, JsonTypeInfo<TArgs> args, JsonTypeInfo<TResult> result,
        Func<TArgs, RpcRequest, CancellationToken, ValueTask<TResult>> handler) =>
        Map(method, async (request, ct) =>
        {
            var value = await handler(request.Arguments.Bind(args), request, ct).ConfigureAwait(false);
            return JsonSerializer.SerializeToNode(value, result);
        });

    internal bool TryGet(string method, out RpcHandler handler) => _methods.TryGetValue(method, out handler!);

    internal bool Accepts(string? @namespace, RpcVersion version) =>
        string.Equals(Namespace, @namespace, StringComparison.Ordinal) && Version.CanServe(version);
}

/// <summary>oslo's <c>RPCDispatcher</c>: picks the endpoint and method for a request.</summary>
public sealed class RpcDispatcher(IReadOnlyList<RpcEndpoint> endpoints)
{
    public IReadOnlyList<RpcEndpoint> Endpoints { get; } = endpoints;

    /// <summary>
    /// The first endpoint that accepts the namespace and version and has the method. Compatible endpoints without
    /// the method → <c>NoSuchMethod</c>; no compatible endpoint (including a namespace mismatch) → <c>UnsupportedVersion</c>.
    /// </summary>
    public RpcHandler Resolve(string method, string? @namespace, string? version)
    {
        var versionText = version ?? "1.0";
        if (!RpcVersion.TryParse(versionText, out var requested))
            throw RpcFailureException.UnsupportedVersion(versionText, method);
        var anyCompatible = false;
        foreach (var endpoint in Endpoints)
        {
            if (!endpoint.Accepts(@namespace, requested)) continue;
            anyCompatible = true;
            if (!method.StartsWith('_') && endpoint.TryGet(method, out var handler)) return handler;
        }
        throw anyCompatible ? RpcFailureException.NoSuchMethod(method) : RpcFailureException.UnsupportedVersion(versionText, method);
    }
}
