using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Protocol;

/// <summary>
/// A failure as oslo serializes it into a reply's <c>failure</c> field (a JSON <em>string</em>):
/// <c>{"class", "module", "message", "tb": [...], "args": [...], "kwargs": {...}}</c>.
/// </summary>
public sealed record RemoteFailure(
    string ClassName,
    string Module,
    string Message,
    IReadOnlyList<string> Traceback,
    JsonArray? Args = null,
    JsonObject? Kwargs = null)
{
    public const string DispatcherModule = "oslo_messaging.rpc.dispatcher";
    public const string BuiltinsModule = "builtins";

    public string ToJson()
    {
        var tb = new JsonArray();
        foreach (var line in Traceback) tb.Add((JsonNode)line);
        var obj = new JsonObject
        {
            ["class"] = ClassName,
            ["module"] = Module,
            ["message"] = Message,
            ["tb"] = tb,
            // oslo sends the exception's args; for a one-message exception that is [message].
            ["args"] = Args?.DeepClone() ?? new JsonArray(Message),
            ["kwargs"] = Kwargs?.DeepClone() ?? new JsonObject(),
        };
        return PythonJson.Dumps(obj);
    }

    /// <summary>Parses a <c>failure</c> string. Unparseable text still gives a failure, with the raw text as message.</summary>
    public static RemoteFailure Parse(string json)
    {
        try
        {
            if (JsonNode.Parse(json) is JsonObject o)
            {
                var name = o["class"].AsString() ?? "Exception";
                var module = o["module"].AsString() ?? "";
                var message = o["message"].AsString() ?? "";
                var tb = new List<string>();
                if (o["tb"] is JsonArray lines)
                    tb.AddRange(lines.Select(l => l.AsString() ?? l?.ToJsonString() ?? ""));
                // A re-raised remote exception keeps its original name (oslo strips "_Remote" from both).
                if (name.EndsWith("_Remote", StringComparison.Ordinal) && module.EndsWith("_Remote", StringComparison.Ordinal))
                {
                    name = name[..^7];
                    module = module[..^7];
                }
                return new RemoteFailure(name, module, message, tb, o["args"] as JsonArray, o["kwargs"] as JsonObject);
            }
        }
        catch (JsonException)
        {
        }
        return new RemoteFailure("Exception", "", json, []);
    }
}
