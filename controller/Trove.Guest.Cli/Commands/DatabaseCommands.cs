using System.CommandLine;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// troveclient's verbs for what lives inside an instance's database server: <c>database-create|list|delete</c>,
/// <c>user-create|list|delete</c>, <c>root-enable</c>, <c>root-show</c>.
/// </summary>
internal static class DatabaseCommands
{
    /// <summary>user-create's password when the PASSWORD argument is left out, which keeps it out of argv.</summary>
    public const string UserPasswordVariable = "TROVE_USER_PASSWORD";

    /// <summary>root-enable's password when --root-password is left out (without either, Trove generates one).</summary>
    public const string RootPasswordVariable = "TROVE_ROOT_PASSWORD";

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        var dbInstance = InstanceCommands.Instance();
        var dbName = new Argument<string>("name") { Description = "the database's name" };
        var charset = new Option<string?>("--character-set", "--character_set") { Description = "the database's character set" };
        var collate = new Option<string?>("--collate") { Description = "the database's collation" };
        yield return build.Create("database-create", "Create a database on an instance", [dbInstance, dbName, charset, collate], async (parse, s, ct) =>
        {
            var database = new JsonObject { ["name"] = parse.GetValue(dbName) };
            if (parse.GetValue(collate) is { } collation) database["collate"] = collation;
            if (parse.GetValue(charset) is { } characterSet) database["character_set"] = characterSet;
            var id = await InstanceIdAsync(s, parse.GetValue(dbInstance)!, ct).ConfigureAwait(false);
            await s.Api.SendAsync(HttpMethod.Post, $"/instances/{id}/databases", new JsonObject { ["databases"] = new JsonArray(database) }, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var listedDbs = InstanceCommands.Instance();
        yield return build.Create("database-list", "List the databases of an instance", [listedDbs], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(listedDbs)!, ct).ConfigureAwait(false);
            var databases = await s.Api.ListAsync($"/instances/{id}/databases", "databases", ct).ConfigureAwait(false);
            await s.Print.ListAsync(databases, [Column.Field("name")]).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var dropFrom = InstanceCommands.Instance();
        var dropped = new Argument<string>("database") { Description = "the database's name" };
        yield return build.Create("database-delete", "Delete a database from an instance", [dropFrom, dropped], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(dropFrom)!, ct).ConfigureAwait(false);
            await s.Api.SendAsync(HttpMethod.Delete, $"/instances/{id}/databases/{PathSegment.Escape(parse.GetValue(dropped)!)}", null, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var userInstance = InstanceCommands.Instance();
        var userName = new Argument<string>("name") { Description = "the user's name" };
        var password = new Argument<string?>("password")
        {
            Description = $"the user's password (default: env[{UserPasswordVariable}], which keeps it out of argv)", Arity = ArgumentArity.ZeroOrOne,
        };
        var host = new Option<string?>("--host") { Description = "the host the user connects from" };
        var grants = new Option<string[]>("--databases") { Description = "databases the user may use", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
        yield return build.Create("user-create", "Create a user on an instance", [userInstance, userName, password, host, grants], async (parse, s, ct) =>
        {
            var secret = parse.GetValue(password) ?? s.Io.Variable(UserPasswordVariable)
                ?? throw new CliFailure(ExitCodes.Usage, $"user-create needs a password: the PASSWORD argument or env[{UserPasswordVariable}]");
            var user = new JsonObject
            {
                ["name"] = parse.GetValue(userName), ["password"] = secret,
                ["databases"] = new JsonArray([.. (parse.GetValue(grants) ?? []).Select(d => new JsonObject { ["name"] = d })]),
            };
            if (parse.GetValue(host) is { } userHost) user["host"] = userHost;
            var id = await InstanceIdAsync(s, parse.GetValue(userInstance)!, ct).ConfigureAwait(false);
            await s.Api.SendAsync(HttpMethod.Post, $"/instances/{id}/users", new JsonObject { ["users"] = new JsonArray(user) }, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var listedUsers = InstanceCommands.Instance();
        yield return build.Create("user-list", "List the users of an instance", [listedUsers], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(listedUsers)!, ct).ConfigureAwait(false);
            var users = await s.Api.ListAsync($"/instances/{id}/users", "users", ct).ConfigureAwait(false);
            var databases = new Column("Databases", u => string.Join(", ", (u["databases"] as JsonArray ?? []).OfType<JsonObject>().Select(d => ResourcePrinter.Cell(d["name"]))));
            await s.Print.ListAsync(users, [Column.Field("name"), Column.Field("host"), databases]).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var removeFrom = InstanceCommands.Instance();
        var removed = new Argument<string>("name") { Description = "the user's name" };
        var removedHost = new Option<string?>("--host") { Description = "the host the user connects from" };
        yield return build.Create("user-delete", "Delete a user from an instance", [removeFrom, removed, removedHost], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(removeFrom)!, ct).ConfigureAwait(false);
            await s.Api.SendAsync(HttpMethod.Delete, $"/instances/{id}/users/{PathSegment.UserHost(parse.GetValue(removed)!, parse.GetValue(removedHost))}",
                null, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var rootInstance = InstanceCommands.Instance();
        var rootPassword = new Option<string?>("--root-password", "--root_password")
        {
            Description = $"the root password to set (default: env[{RootPasswordVariable}]; without either Trove generates one)",
        };
        yield return build.Create("root-enable", "Enable the root user of an instance (and reset its password)", [rootInstance, rootPassword], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(rootInstance)!, ct).ConfigureAwait(false);
            var secret = parse.GetValue(rootPassword) ?? s.Io.Variable(RootPasswordVariable);
            var answer = await s.Api.SendAsync(HttpMethod.Post, $"/instances/{id}/root",
                secret is null ? null : new JsonObject { ["password"] = secret }, ct).ConfigureAwait(false);
            var user = answer?["user"] as JsonObject ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API enabled root but did not return the user");
            await s.Print.ObjectAsync(user, new JsonObject { ["name"] = user["name"]?.DeepClone(), ["password"] = user["password"]?.DeepClone() })
                .ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var rootShown = InstanceCommands.Instance();
        yield return build.Create("root-show", "Show whether root was ever enabled on an instance", [rootShown], async (parse, s, ct) =>
        {
            var id = await InstanceIdAsync(s, parse.GetValue(rootShown)!, ct).ConfigureAwait(false);
            var answer = await s.Api.GetAsync($"/instances/{id}/root", ct).ConfigureAwait(false);
            await s.Print.ObjectAsync(answer, new JsonObject { ["is_root_enabled"] = answer["rootEnabled"]?.DeepClone() }).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
    }

    /// <summary>The escaped id of the named instance, for the URL.</summary>
    private static async Task<string> InstanceIdAsync(ApiSession s, string nameOrId, CancellationToken ct) =>
        PathSegment.Escape(ResourceFinder.Id(await s.Find.InstanceAsync(nameOrId, ct).ConfigureAwait(false)));
}
