using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Serialization;

/// <summary>
/// Trove's <c>SecureSerializer</c> (control plane ⇄ guest, guest-contract §5.3): each argument value and each result
/// becomes <c>encrypt(json.dumps(value))</c>; the context becomes <c>{"context": encrypt(json.dumps(ctx))}</c>.
/// </summary>
/// <remarks>
/// Python keeps a value that does not decrypt as it is and runs the call with it. Trove's own senders encrypt every
/// value, so such a value can only be corrupt, forged or sent with another key: we refuse it, and the caller gets a
/// clear error instead of a call run with garbage. A context that does not decrypt is refused the same way.
/// </remarks>
public sealed class SecureSerializer(IPayloadCipher cipher) : IRpcSerializer
{
    public const string ContextKey = "context";

    public static SecureSerializer ForTroveKey(string instanceKey) => new(new TroveCbcCipher(instanceKey));

    public JsonNode? SerializeEntity(JsonObject context, JsonNode? entity) => cipher.Encrypt(PythonJson.Dumps(entity));

    public JsonNode? DeserializeEntity(JsonObject context, JsonNode? entity)
    {
        if (entity.AsString() is { } token
            && cipher.TryDecrypt(token, out var text)
            && TryParse(text, out var decoded))
        {
            return decoded;
        }
        throw new RpcSerializationException(cipher.IsAuthenticated
            ? "the value is not authenticated with this instance's key"
            : "the value is not encrypted with this instance's key (not base64, wrong key or corrupt)");
    }

    public JsonObject SerializeContext(JsonObject context) =>
        new() { [ContextKey] = cipher.Encrypt(PythonJson.Dumps(context)) };

    public JsonObject DeserializeContext(JsonObject context) => DecryptContext(cipher, context);

    internal static JsonObject DecryptContext(IPayloadCipher cipher, JsonObject context)
    {
        if (context[ContextKey].AsString() is not { } token)
            throw new RpcSerializationException("the request context is not encrypted, but this server has an instance key");
        if (!cipher.TryDecrypt(token, out var text) || !TryParse(text, out var node) || node is not JsonObject obj)
            throw new RpcSerializationException("the request context could not be decrypted: wrong instance key or corrupt message");
        return obj;
    }

    internal static bool TryParse(string text, out JsonNode? node)
    {
        try
        {
            node = JsonNode.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            node = null;
            return false;
        }
    }
}
