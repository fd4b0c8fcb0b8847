using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Modules;

/// <summary>
/// Trove modules on the guest (guest-contract §2.11): applied in <c>apply_order</c> then <c>priority_apply</c> order, each
/// by the driver of its <c>type</c>, with its contents and result kept under <c>state_dir/modules/&lt;type&gt;/&lt;id&gt;/</c>.
/// Drivers here: <c>ping</c> (Trove's test module). Others are recorded with status ERROR and a message saying so.
/// </summary>
public sealed class ModuleStore(AgentOptions options)
{
    private static readonly string[] ResultKeys =
        ["id", "name", "type", "datastore", "datastore_version", "tenant", "auto_apply", "visible", "is_admin", "md5"];

    private string Root => Path.Combine(options.Guest.StateDir, "modules");

    public JsonArray Apply(JsonArray modules)
    {
        var ordered = modules
            .Select(m => m?["module"] as JsonObject ?? throw RpcFailureException.ValueError("each module must be {\"module\": {...}}"))
            .OrderBy(m => Int(m["apply_order"], 5))
            .ThenByDescending(m => m["priority_apply"]?.GetValueKind() == JsonValueKind.True)
            .ToList();
        var results = new JsonArray();
        foreach (var module in ordered) results.Add((JsonNode)ApplyOne(module));
        return results;
    }

    private JsonObject ApplyOne(JsonObject module)
    {
        var id = Safe(module["id"]?.GetValue<string>() ?? throw RpcFailureException.ValueError("a module has no id"));
        var type = Safe(module["type"]?.GetValue<string>() ?? throw RpcFailureException.ValueError($"module {id} has no type"));
        var contents = module["contents"]?.GetValue<string>() ?? "";
        var datastore = module["datastore"]?.GetValue<string>();

        var (status, message) = datastore is not null && datastore != "all" && datastore != options.DatastoreManager
            ? ("ERROR", $"Module is for datastore {datastore}, not {options.DatastoreManager}")
            : type switch
            {
                "ping" => ("OK", "**** PONG ****"),
                _ => ("ERROR", $"Module type '{type}' is not supported by this agent"),
            };

        var dir = Path.Combine(Root, type, id);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "contents"), contents);
        File.SetUnixFileMode(Path.Combine(dir, "contents"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture);
        var previous = ReadResult(dir);
        var result = new JsonObject();
        foreach (var key in ResultKeys) result[key] = module[key]?.DeepClone();
        result["md5"] ??= Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(contents)));
        result["status"] = status;
        result["message"] = message;
        result["created"] = previous?["created"]?.DeepClone() ?? now;
        result["updated"] = now;
        result["removed"] = null;
        File.WriteAllText(Path.Combine(dir, "result.json"), PythonJson.Dumps(result));
        return result;
    }

    public JsonArray List(bool includeContents, bool isAdmin)
    {
        var results = new JsonArray();
        if (!Directory.Exists(Root)) return results;
        foreach (var dir in Directory.GetDirectories(Root).SelectMany(Directory.GetDirectories).Order(StringComparer.Ordinal))
        {
            if (ReadResult(dir) is not { } result || result["removed"] is not null) continue;
            if (!isAdmin && result["is_admin"]?.GetValueKind() == JsonValueKind.True) continue;
            if (includeContents) result["contents"] = File.ReadAllText(Path.Combine(dir, "contents"));
            results.Add((JsonNode)result);
        }
        return results;
    }

    public void Remove(JsonObject wrapper)
    {
        var module = wrapper["module"] as JsonObject ?? throw RpcFailureException.ValueError("module must be {\"module\": {...}}");
        var dir = Path.Combine(Root, Safe(module["type"]?.GetValue<string>() ?? ""), Safe(module["id"]?.GetValue<string>() ?? ""));
        if (ReadResult(dir) is not { } result) return;
        result["removed"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture);
        File.Delete(Path.Combine(dir, "contents"));
        File.WriteAllText(Path.Combine(dir, "result.json"), PythonJson.Dumps(result));
    }

    private static JsonObject? ReadResult(string dir)
    {
        var path = Path.Combine(dir, "result.json");
        return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
    }

    /// <summary>Ids and types become directory names: no separators, no dot-dot.</summary>
    private static string Safe(string name) =>
        name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? name
            : throw RpcFailureException.ValueError($"'{name}' is not a valid module id or type");

    private static int Int(JsonNode? node, int fallback) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : fallback;
}
