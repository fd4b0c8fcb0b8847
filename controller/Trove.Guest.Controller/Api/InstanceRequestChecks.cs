using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Controller.Api.Names;

namespace Trove.Guest.Controller.Api;

/// <summary>Checks on the databases and users a create request carries, before anything reaches a guest.</summary>
public static class InstanceRequestChecks
{
    /// <summary>The first problem with the request's databases and users, or null when they are acceptable.</summary>
    public static string? DatabasesAndUsers(JsonArray databases, JsonArray users)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var database in databases)
        {
            if (database is not JsonObject d || Name(d) is not { } name) return "Each database needs a 'name'.";
            if ((MySqlNameRules.SchemaNameProblem(name) ?? MySqlNameRules.ReservedDatabase(name)) is { } problem) return problem;
            if (!names.Add(name)) return $"The database {name} is given twice.";
        }
        var userNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in users)
        {
            if (user is not JsonObject u || Name(u) is not { } name) return "Each user needs a 'name'.";
            if ((MySqlNameRules.UserNameProblem(name) ?? MySqlNameRules.ReservedUser(name) ?? MySqlNameRules.HostProblem(u["host"]?.ToString())) is { } problem) return problem;
            if (u["password"] is not JsonValue p || p.GetValueKind() != JsonValueKind.String || p.GetValue<string>().Length == 0)
                return $"User {name} needs a 'password'.";
            if (!userNames.Add(name + "@" + (u["host"]?.ToString() ?? "%"))) return $"The user {name} is given twice.";
            foreach (var access in u["databases"] as JsonArray ?? [])
            {
                if (access is not JsonObject a || Name(a) is not { } db) return $"Each database of user {name} needs a 'name'.";
                if (MySqlNameRules.SchemaNameProblem(db) is { } problem2) return problem2;
            }
        }
        return null;
    }

    private static string? Name(JsonObject o) => o["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
