using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Trove.Guest.Messaging.Server;

/// <summary>The keyword arguments of a request, already through the serializer (decrypted).</summary>
public sealed class RpcArguments(string method, JsonObject values)
{
    public JsonObject Values { get; } = values;

    public bool Contains(string name) => Values.ContainsKey(name);

    public JsonNode? this[string name] => Values[name];

    /// <summary>A required argument. Missing or of the wrong type → a <c>TypeError</c> for the caller, as Python raises.</summary>
    public T Get<T>(string name, JsonTypeInfo<T> typeInfo)
    {
        if (!Values.TryGetPropertyValue(name, out var node))
            throw RpcFailureException.TypeError($"{method}() missing 1 required positional argument: '{name}'");
        return Convert(name, node, typeInfo)!;
    }

    /// <summary>An optional argument with a default.</summary>
    public T? GetOrDefault<T>(string name, JsonTypeInfo<T> typeInfo, T? fallback = default) =>
        Values.TryGetPropertyValue(name, out var node) ? Convert(name, node, typeInfo) : fallback;

    /// <summary>All arguments bound to one type (a record whose properties are the kwargs). Unknown kwargs are ignored.</summary>
    public T Bind<T>(JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return Values.Deserialize(typeInfo) ?? throw RpcFailureException.TypeError($"{method}() arguments are null");
        }
        catch (JsonException e)
        {
            throw RpcFailureException.TypeError($"{method}() got invalid arguments: {e.Message}");
        }
    }

    private T? Convert<T>(string name, JsonNode? node, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return node is null ? default : node.Deserialize(typeInfo);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw RpcFailureException.TypeError($"{method}() argument '{name}' is not a valid {typeof(T).Name}: {e.Message}");
        }
    }
}
