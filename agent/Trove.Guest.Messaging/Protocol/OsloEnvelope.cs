using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Protocol;

/// <summary>
/// The 2.0 envelope every oslo message travels in: <c>{"oslo.version": "2.0", "oslo.message": "&lt;inner JSON text&gt;"}</c>.
/// The inner message is JSON encoded twice: it is a string inside the outer object.
/// </summary>
public static class OsloEnvelope
{
    public const string VersionKey = "oslo.version";
    public const string MessageKey = "oslo.message";
    public const string Version = "2.0";
    public const string ContentType = "application/json";
    public const string ContentEncoding = "utf-8";

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 256 };

    /// <summary>Wraps an inner message. The inner text is written as Python does (ensure_ascii).</summary>
    public static byte[] Wrap(JsonObject inner)
    {
        var innerText = PythonJson.Dumps(inner);
        var sb = new StringBuilder(innerText.Length + 64);
        sb.Append("{\"").Append(VersionKey).Append("\": \"").Append(Version).Append("\", \"").Append(MessageKey).Append("\": ");
        PythonJson.WriteString(sb, innerText);
        sb.Append('}');
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>
    /// Unwraps a message body as oslo's <c>deserialize_msg</c> does. An object without both envelope keys is a
    /// pre-envelope (1.0) message and is used as it is. Throws <see cref="MalformedMessageException"/> when the body
    /// cannot be a message at all (oslo rejects those without a reply).
    /// </summary>
    public static JsonObject Unwrap(ReadOnlyMemory<byte> body)
    {
        JsonNode? outer;
        try
        {
            outer = JsonNode.Parse(body.Span, documentOptions: ReadOptions);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new MalformedMessageException($"body is not JSON: {e.Message}", e);
        }
        if (outer is not JsonObject obj) throw new MalformedMessageException("body is not a JSON object");
        if (!obj.ContainsKey(VersionKey) || !obj.ContainsKey(MessageKey)) return obj;

        var version = obj[VersionKey].AsString();
        if (!IsCompatible(version))
        {
            // oslo drops such a message silently; we keep what can be read of it so the server can tell a caller why.
            throw new MalformedMessageException(
                $"unsupported envelope version '{version ?? "(not a string)"}'; this peer speaks {Version}",
                salvaged: TrySalvage(obj[MessageKey]));
        }
        if (obj[MessageKey] is not JsonValue m || m.GetValueKind() != JsonValueKind.String)
            throw new MalformedMessageException("oslo.message is not a string");

        string innerText;
        try
        {
            innerText = m.GetValue<string>();
        }
        catch (InvalidOperationException e)
        {
            throw new MalformedMessageException($"oslo.message is not valid text: {e.Message}", e);
        }
        JsonNode? inner;
        try
        {
            inner = JsonNode.Parse(innerText, documentOptions: ReadOptions);
        }
        catch (JsonException e)
        {
            throw new MalformedMessageException($"oslo.message is not JSON: {e.Message}", e);
        }
        return inner as JsonObject ?? throw new MalformedMessageException("oslo.message is not a JSON object");
    }

    private static JsonObject? TrySalvage(JsonNode? inner)
    {
        try
        {
            return inner.AsString() is { } text ? JsonNode.Parse(text, documentOptions: ReadOptions) as JsonObject : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>oslo's <c>version_is_compatible("2.0", v)</c>: major 2, minor 0, revision 0.</summary>
    private static bool IsCompatible(string? version) =>
        RpcVersion.TryParse(version, out var v) && new RpcVersion(2, 0, 0).CanServe(v);
}

/// <summary>A message that cannot be decoded; oslo rejects it (<c>Basic.Reject</c>, no requeue) without replying.</summary>
public sealed class MalformedMessageException(string message, Exception? inner = null, JsonObject? salvaged = null)
    : Exception(message, inner)
{
    /// <summary>The inner message when only the envelope was wrong: enough to find its reply queue.</summary>
    public JsonObject? Salvaged { get; } = salvaged;
}
