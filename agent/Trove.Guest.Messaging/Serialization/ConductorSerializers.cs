using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Serialization;

/// <summary>
/// Trove's <c>ConductorGuestSerializer</c> (guest → conductor, guest-contract §5.4): each argument becomes the JSON
/// <em>text</em> <c>{"entity": encrypt(json.dumps(value)), "csz-instance-id": guest_id}</c>; the context becomes
/// <c>{"context": encrypt(...), "csz-instance-id": guest_id}</c>. The guest only sends this way; it never receives.
/// </summary>
public sealed class ConductorGuestSerializer(IPayloadCipher cipher, string guestId) : IRpcSerializer
{
    public const string InstanceIdKey = "csz-instance-id";
    public const string EntityKey = "entity";

    public JsonNode? SerializeEntity(JsonObject context, JsonNode? entity) =>
        PythonJson.Dumps(new JsonObject
        {
            [EntityKey] = cipher.Encrypt(PythonJson.Dumps(entity)),
            [InstanceIdKey] = guestId,
        });

    public JsonObject SerializeContext(JsonObject context) => new()
    {
        [SecureSerializer.ContextKey] = cipher.Encrypt(PythonJson.Dumps(context)),
        [InstanceIdKey] = guestId,
    };

    public JsonNode? DeserializeEntity(JsonObject context, JsonNode? entity) =>
        throw new NotSupportedException("the conductor guest serializer only sends");

    public JsonObject DeserializeContext(JsonObject context) =>
        throw new NotSupportedException("the conductor guest serializer only sends");
}

/// <summary>
/// Trove's <c>ConductorHostSerializer</c> (the conductor's side): finds the instance by <c>csz-instance-id</c>, looks its
/// key up and decrypts. Messages without the id are plaintext (instances without a key), as in Trove.
/// </summary>
/// <param name="cipherForInstance">The cipher of an instance's key; null when the instance is unknown or has no key.</param>
public sealed class ConductorHostSerializer(Func<string, IPayloadCipher?> cipherForInstance) : IRpcSerializer
{
    /// <summary>The context key under which the sending instance's id is kept after deserialization (Trove's <c>instance_id</c>).</summary>
    public const string InstanceIdContextKey = "instance_id";

    public JsonNode? DeserializeEntity(JsonObject context, JsonNode? entity)
    {
        if (entity.AsString() is not { } wrapped) return entity?.DeepClone();
        if (!SecureSerializer.TryParse(wrapped, out var wrapper) || wrapper is not JsonObject obj
            || obj[ConductorGuestSerializer.InstanceIdKey].AsString() is not { } instanceId)
        {
            return entity!.DeepClone();
        }
        var cipher = cipherForInstance(instanceId)
            ?? throw new RpcSerializationException($"no encryption key is known for instance {instanceId}");
        if (obj[ConductorGuestSerializer.EntityKey].AsString() is not { } token
            || !cipher.TryDecrypt(token, out var text) || !SecureSerializer.TryParse(text, out var decoded))
        {
            throw new RpcSerializationException($"an argument from instance {instanceId} could not be decrypted: wrong key or corrupt message");
        }
        return decoded;
    }

    public JsonObject DeserializeContext(JsonObject context)
    {
        if (context[ConductorGuestSerializer.InstanceIdKey].AsString() is not { } instanceId)
        {
            var plain = (JsonObject)context.DeepClone();
            plain[InstanceIdContextKey] = null;
            return plain;
        }
        var cipher = cipherForInstance(instanceId)
            ?? throw new RpcSerializationException($"no encryption key is known for instance {instanceId}");
        var decrypted = SecureSerializer.DecryptContext(cipher, context);
        decrypted[InstanceIdContextKey] = instanceId;
        return decrypted;
    }

    public JsonNode? SerializeEntity(JsonObject context, JsonNode? entity)
    {
        var cipher = InstanceCipher(context);
        return cipher is null ? entity : cipher.Encrypt(PythonJson.Dumps(entity));
    }

    public JsonObject SerializeContext(JsonObject context)
    {
        var cipher = InstanceCipher(context);
        return cipher is null ? context : new JsonObject { [SecureSerializer.ContextKey] = cipher.Encrypt(PythonJson.Dumps(context)) };
    }

    private IPayloadCipher? InstanceCipher(JsonObject context) =>
        context[InstanceIdContextKey].AsString() is { } instanceId ? cipherForInstance(instanceId) : null;
}
