using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Serialization;

/// <summary>
/// oslo.messaging's serializer seam: every argument value, every result, and the request context pass through it
/// on their way to and from the wire. <see cref="PlainSerializer"/> leaves them as they are; Trove's serializers
/// encrypt them.
/// </summary>
public interface IRpcSerializer
{
    JsonNode? SerializeEntity(JsonObject context, JsonNode? entity);

    /// <summary>Throws <see cref="RpcSerializationException"/> when the entity must be refused.</summary>
    JsonNode? DeserializeEntity(JsonObject context, JsonNode? entity);

    JsonObject SerializeContext(JsonObject context);

    /// <summary>Throws <see cref="RpcSerializationException"/> when the context cannot be read (a wrong key).</summary>
    JsonObject DeserializeContext(JsonObject context);
}

/// <summary>A value the serializer refuses: a wrong key, a tampered or corrupt payload.</summary>
public sealed class RpcSerializationException(string message) : Exception(message);

/// <summary>No transformation: what oslo's <c>NoOpSerializer</c> does, and Trove without an instance key.</summary>
public sealed class PlainSerializer : IRpcSerializer
{
    public static readonly PlainSerializer Instance = new();

    public JsonNode? SerializeEntity(JsonObject context, JsonNode? entity) => entity;
    public JsonNode? DeserializeEntity(JsonObject context, JsonNode? entity) => entity;
    public JsonObject SerializeContext(JsonObject context) => context;
    public JsonObject DeserializeContext(JsonObject context) => context;
}
