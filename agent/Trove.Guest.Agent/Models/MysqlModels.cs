using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Models;

/// <summary>A database as Trove's guest API carries it: <c>{"_name", "_character_set", "_collate"}</c>.</summary>
public sealed record MysqlDatabase(string Name, string? CharacterSet = null, string? Collate = null)
{
    public JsonObject ToJson() => new() { ["_name"] = Name, ["_character_set"] = CharacterSet, ["_collate"] = Collate };

    /// <summary>Reads a Schema; a plain string is taken as a name (grant_access sends plain names).</summary>
    public static MysqlDatabase FromJson(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var name) => new MysqlDatabase(name),
        JsonObject o => new MysqlDatabase(
            Str(o, "_name") ?? Str(o, "name") ?? throw RpcFailureException.ValueError("a database has no '_name'"),
            Str(o, "_character_set") ?? Str(o, "character_set"),
            Str(o, "_collate") ?? Str(o, "collate")),
        _ => throw RpcFailureException.ValueError("a database must be an object with '_name'"),
    };

    internal static string? Str(JsonObject o, string key) => o[key].AsString();
}

/// <summary>A user as Trove's guest API carries it: <c>{"_name", "_password", "_host", "_databases", "_is_root"}</c>.</summary>
public sealed record MysqlUser(string Name, string Host, string? Password, IReadOnlyList<MysqlDatabase> Databases, bool IsRoot = false)
{
    public JsonObject ToJson()
    {
        var dbs = new JsonArray();
        foreach (var db in Databases) dbs.Add((JsonNode)db.ToJson());
        return new JsonObject
        {
            ["_name"] = Name,
            ["_password"] = Password,
            ["_host"] = Host,
            ["_databases"] = dbs,
            ["_is_root"] = IsRoot,
        };
    }

    public static MysqlUser FromJson(JsonNode? node)
    {
        if (node is not JsonObject o) throw RpcFailureException.ValueError("a user must be an object with '_name'");
        var name = MysqlDatabase.Str(o, "_name") ?? MysqlDatabase.Str(o, "name") ?? throw RpcFailureException.ValueError("a user has no '_name'");
        var host = MysqlDatabase.Str(o, "_host") ?? MysqlDatabase.Str(o, "host") ?? "%";
        var password = MysqlDatabase.Str(o, "_password") ?? MysqlDatabase.Str(o, "password");
        var dbs = (o["_databases"] ?? o["databases"]) is JsonArray a ? a.Select(MysqlDatabase.FromJson).ToList() : [];
        return new MysqlUser(name, host, password, dbs);
    }
}

/// <summary>Trove's paged list result: <c>[[items...], next_marker]</c>.</summary>
public static class Paged
{
    public static JsonArray ToJson<T>(IReadOnlyList<T> items, string? nextMarker, Func<T, JsonObject> toJson)
    {
        var list = new JsonArray();
        foreach (var item in items) list.Add((JsonNode)toJson(item));
        return new JsonArray(list, nextMarker);
    }
}
