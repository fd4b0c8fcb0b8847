using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trove.Guest.Controller.Api.Names;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's MySQL extensions of the v1.0 API: an instance's databases, users, user access and root
/// (trove/extensions/mysql/service.py, trove/extensions/common/service.py), with Trove's shapes, status codes, messages
/// and order of checks: the body's JSON schema, the instance (404), the names (400), the instance being ready (422),
/// then the guest. Every name is checked with Trove's MySQL rules before anything reaches a guest.
/// </summary>
public static class DatabasesAndUsersEndpoints
{
    private const string InstancePath = "/v1.0/{projectId}/instances/{instanceId}";

    /// <summary>Trove's <c>databases_page_size</c> and <c>users_page_size</c>: the default and the largest page.</summary>
    private const int PageSize = 20;

    /// <summary>The datastores Trove's database and user API serves (<c>load_and_verify</c>); root adds PostgreSQL.</summary>
    private static readonly string[] MySqlManagers = ["mysql", "mariadb"];

    private static readonly string[] RootManagers = ["mysql", "mariadb", "postgresql"];

    public static void MapDatabasesAndUsers(this WebApplication app)
    {
        app.MapPost(InstancePath + "/databases", (string instanceId, HttpContext http) => Handle(http, instanceId, CreateDatabasesAsync));
        app.MapGet(InstancePath + "/databases", (string instanceId, HttpContext http) => Handle(http, instanceId, ListDatabasesAsync));
        app.MapDelete(InstancePath + "/databases/{database}", (string instanceId, string database, HttpContext http) =>
            Handle(http, instanceId, r => DeleteDatabaseAsync(r, database)));

        app.MapPost(InstancePath + "/users", (string instanceId, HttpContext http) => Handle(http, instanceId, CreateUsersAsync));
        app.MapGet(InstancePath + "/users", (string instanceId, HttpContext http) => Handle(http, instanceId, ListUsersAsync));
        app.MapPut(InstancePath + "/users", (string instanceId, HttpContext http) => Handle(http, instanceId, ChangePasswordsAsync));
        app.MapGet(InstancePath + "/users/{userId}", (string instanceId, string userId, HttpContext http) =>
            Handle(http, instanceId, r => ShowUserAsync(r, userId)));
        app.MapPut(InstancePath + "/users/{userId}", (string instanceId, string userId, HttpContext http) =>
            Handle(http, instanceId, r => UpdateUserAsync(r, userId)));
        app.MapDelete(InstancePath + "/users/{userId}", (string instanceId, string userId, HttpContext http) =>
            Handle(http, instanceId, r => DeleteUserAsync(r, userId)));
        app.MapGet(InstancePath + "/users/{userId}/databases", (string instanceId, string userId, HttpContext http) =>
            Handle(http, instanceId, r => ListAccessAsync(r, userId)));
        app.MapPut(InstancePath + "/users/{userId}/databases", (string instanceId, string userId, HttpContext http) =>
            Handle(http, instanceId, r => GrantAccessAsync(r, userId)));
        app.MapDelete(InstancePath + "/users/{userId}/databases/{database}", (string instanceId, string userId, string database, HttpContext http) =>
            Handle(http, instanceId, r => RevokeAccessAsync(r, userId, database)));

        app.MapGet(InstancePath + "/root", (string instanceId, HttpContext http) => Handle(http, instanceId, ShowRootAsync));
        app.MapPost(InstancePath + "/root", (string instanceId, HttpContext http) => Handle(http, instanceId, EnableRootAsync));
        app.MapDelete(InstancePath + "/root", (string instanceId, HttpContext http) => Handle(http, instanceId, DisableRootAsync));
    }

    /// <summary>Runs a handler; a guest that failed or did not answer becomes Trove's GuestError.</summary>
    private static async Task<IResult> Handle(HttpContext http, string instanceId, Func<ResourceRequest, Task<IResult>> handler)
    {
        try
        {
            return await handler(new ResourceRequest(http, instanceId)).ConfigureAwait(false);
        }
        catch (GuestFailure e)
        {
            // Trove's guest API turns any failure of a call or cast (RemoteError, MessagingTimeout, a broker error) into
            // GuestError, which its fault map does not list: the API answers 400 badRequest with this message.
            return Faults.BadRequest($"An error occurred communicating with the guest: {e.Message}.");
        }
    }

    // ---- databases ----

    private static async Task<IResult> CreateDatabasesAsync(ResourceRequest r)
    {
        var (body, fault) = await r.ReadBodyAsync(TroveRequestSchemas.DatabasesCreate).ConfigureAwait(false);
        if (fault is not null) return fault;
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;

        // populate_validated_databases: each name valid and not reserved, no name twice, a known character set and collation.
        var schemas = new JsonArray();
        var names = new List<string>();
        foreach (var item in body!["databases"]!.AsArray())
        {
            var name = Text(item!["name"]);
            var problem = MySqlNameRules.SchemaNameProblem(name) ?? MySqlNameRules.ReservedDatabase(name);
            if (problem is not null) return Faults.BadRequest(problem);
            if (names.Contains(name))
                return Faults.BadRequest("Two or more databases share the same name in the initial databases list. Please correct the names or remove the duplicate entries.");
            names.Add(name);
            var (characterSet, collate, encodingProblem) = MySqlNameRules.Encoding(OptionalText(item["character_set"]), OptionalText(item["collate"]));
            if (encodingProblem is not null) return Faults.BadRequest(encodingProblem);
            schemas.Add(Schema(name, characterSet, collate));
        }

        if ((fault = await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false)) is not null) return fault;
        var guest = r.Guest("DBaaSDatabaseCreate", new JsonObject { ["dbname"] = string.Join(".", names) });
        foreach (var name in names)
        {
            if (await DatabaseExistsAsync(guest, name, r.Aborted).ConfigureAwait(false))
                return Faults.BadRequest($"A database with the name \"{name}\" already exists.");
        }
        await Guarded(() => guest.CreateDatabasesAsync(schemas, null, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ListDatabasesAsync(ResourceRequest r)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false) ?? await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false);
        if (fault is not null) return fault;
        var (limit, marker, pagingFault) = Paging(r.Http);
        if (pagingFault is not null) return pagingFault;
        var (items, next) = Page(await Guarded(() => r.Guest().ListDatabasesAsync(limit, marker, false, r.Aborted)).ConfigureAwait(false));
        var databases = items.Select(d => Text(d?["_name"])).Where(n => !MySqlNameRules.IgnoredDatabases.Contains(n))
            .Select(n => new Dictionary<string, object> { ["name"] = n }).ToList();
        return Paged(r.Http, "databases", databases, next);
    }

    private static async Task<IResult> DeleteDatabaseAsync(ResourceRequest r, string database)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false);
        if (fault is not null) return fault;
        if (MySqlNameRules.SchemaNameProblem(database) is { } problem) return Faults.BadRequest($"Database delete error: {problem}");
        if (MySqlNameRules.ReservedDatabase(database) is { } reserved) return Faults.BadRequest($"Database delete error: Cannot delete database: {reserved}");
        if ((fault = await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false)) is not null) return fault;
        var guest = r.Guest("DBaaSDatabaseDelete", new JsonObject { ["dbname"] = database });
        if (!await DatabaseExistsAsync(guest, database, r.Aborted).ConfigureAwait(false))
            return Faults.NotFound($"Database {database} cannot be found on the instance.");
        await Guarded(() => guest.DeleteDatabaseAsync(Schema(database, null, null), null, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>Trove's existence check: a one-item page starting at the name, marker included.</summary>
    private static async Task<bool> DatabaseExistsAsync(GuestClient guest, string name, CancellationToken ct)
    {
        var (items, _) = Page(await Guarded(() => guest.ListDatabasesAsync(1, name, true, ct)).ConfigureAwait(false));
        return items.Count > 0 && Text(items[0]?["_name"]) == name;
    }

    // ---- users ----

    private static async Task<IResult> CreateUsersAsync(ResourceRequest r)
    {
        var (body, fault) = await r.ReadBodyAsync(TroveRequestSchemas.Users).ConfigureAwait(false);
        if (fault is not null) return fault;
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;

        // populate_users: name, host, reserved names, no (name, host) twice, the password, the databases' names.
        var users = new JsonArray();
        var identities = new List<UserHostId>();
        foreach (var item in body!["users"]!.AsArray())
        {
            var identity = new UserHostId(Text(item!["name"]), OptionalText(item["host"]) ?? "%");
            var problem = UserProblem(identity) ?? MySqlNameRules.ReservedUser(identity.Name);
            if (problem is not null) return Faults.BadRequest($"User create error: {problem}");
            if (identities.Contains(identity))
                return Faults.BadRequest("Two or more users share the same name and host in the initial users list. Please correct the names or remove the duplicate entries.");
            identities.Add(identity);
            var password = Text(item["password"]);
            if (MySqlNameRules.PasswordProblem(password) is { } passwordProblem) return Faults.BadRequest($"User create error: {passwordProblem}");
            var databases = new List<string>();
            foreach (var reference in item["databases"]?.AsArray() ?? [])
            {
                var name = Text(reference!["name"]);
                // Trove checks the name only; a grant on a reserved database (mysql...) would hand out the server, so it is refused too.
                if ((MySqlNameRules.SchemaNameProblem(name) ?? MySqlNameRules.ReservedDatabase(name)) is { } databaseProblem)
                    return Faults.BadRequest($"User create error: {databaseProblem}");
                if (!databases.Contains(name)) databases.Add(name);
            }
            users.Add(User(identity, password, databases));
        }

        if ((fault = await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false)) is not null) return fault;
        var guest = r.Guest("DBaaSUserCreate", new JsonObject { ["username"] = string.Join(",", identities.Select(i => i.Name)) });
        foreach (var identity in identities)
        {
            if (await UserExistsAsync(guest, identity, r.Aborted).ConfigureAwait(false))
                return Faults.BadRequest($"A user with the name \"{identity.Name}\" already exists.");
        }
        await Guarded(() => guest.CreateUsersAsync(users, null, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ListUsersAsync(ResourceRequest r)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false) ?? await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false);
        if (fault is not null) return fault;
        var (limit, marker, pagingFault) = Paging(r.Http);
        if (pagingFault is not null) return pagingFault;
        var (items, next) = Page(await Guarded(() => r.Guest().ListUsersAsync(limit, marker, false, r.Aborted)).ConfigureAwait(false));
        var users = items.Where(u => !MySqlNameRules.IgnoredUsers.Contains(Text(u?["_name"]))).Select(u => UserView(u!)).ToList();
        return Paged(r.Http, "users", users, next);
    }

    private static async Task<IResult> ShowUserAsync(ResourceRequest r, string userId)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false);
        if (fault is not null) return fault;
        var (user, loadFault) = await LoadUserAsync(r, userId, "User show error").ConfigureAwait(false);
        return loadFault ?? Results.Json(new Dictionary<string, object> { ["user"] = UserView(user!) });
    }

    private static async Task<IResult> DeleteUserAsync(ResourceRequest r, string userId)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false);
        if (fault is not null) return fault;
        var identity = UserHostId.Parse(userId);
        // Trove builds the user (its name and host checked) before it loads it.
        if (UserProblem(identity) is { } problem) return Faults.BadRequest($"User delete error: {problem}");
        var (_, loadFault) = await LoadUserAsync(r, userId, "User delete error").ConfigureAwait(false);
        if (loadFault is not null) return loadFault;
        var guest = r.Guest("DBaaSUserDelete", new JsonObject { ["username"] = identity.Name });
        await Guarded(() => guest.DeleteUserAsync(User(identity, null, []), null, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>PUT users: new passwords for existing users (Trove's <c>update_all</c>).</summary>
    private static async Task<IResult> ChangePasswordsAsync(ResourceRequest r)
    {
        var (body, fault) = await r.ReadBodyAsync(TroveRequestSchemas.Users).ConfigureAwait(false);
        if (fault is not null) return fault;
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;
        var changes = new JsonArray();
        var identities = new List<UserHostId>();
        // Every user is checked before the guest is asked about any (Trove checks and loads them one by one).
        foreach (var item in body!["users"]!.AsArray())
        {
            var identity = new UserHostId(Text(item!["name"]), OptionalText(item["host"]) ?? "%");
            var password = Text(item["password"]);
            var problem = UserProblem(identity) ?? MySqlNameRules.PasswordProblem(password) ?? MySqlNameRules.ReservedUser(identity.Name);
            if (problem is not null) return Faults.BadRequest($"Error loading user: {problem}");
            // change_passwords takes plain keys, unlike the other user methods.
            changes.Add(new JsonObject { ["name"] = identity.Name, ["host"] = identity.Host, ["password"] = password });
            identities.Add(identity);
        }
        if ((fault = await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false)) is not null) return fault;
        foreach (var identity in identities)
        {
            if (await GetUserAsync(r.Guest(), identity, r.Aborted).ConfigureAwait(false) is null)
                return Faults.NotFound($"User {identity} cannot be found on the instance.");
        }
        var guest = r.Guest("DBaaSUserChangePassword", new JsonObject { ["username"] = string.Join(",", identities.Select(i => i.Name)) });
        await Guarded(() => guest.ChangePasswordsAsync(changes, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>PUT users/{user}: a new name, host or password for one user.</summary>
    private static async Task<IResult> UpdateUserAsync(ResourceRequest r, string userId)
    {
        var (body, fault) = await r.ReadBodyAsync(TroveRequestSchemas.UserAttributes).ConfigureAwait(false);
        if (fault is not null) return fault;
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;
        var identity = UserHostId.Parse(userId);
        var (_, loadFault) = await LoadUserAsync(r, userId, "Error loading user").ConfigureAwait(false);
        if (loadFault is not null) return loadFault;

        var attributes = body!["user"]!.AsObject();
        var newName = OptionalText(attributes["name"]);
        var newHost = OptionalText(attributes["host"]);
        var password = OptionalText(attributes["password"]);
        var target = new UserHostId(string.IsNullOrEmpty(newName) ? identity.Name : newName, string.IsNullOrEmpty(newHost) ? identity.Host : newHost);
        // Trove checks the new name and host; the new password is checked too, so that nothing unchecked reaches the guest.
        var problem = UserProblem(target) ?? MySqlNameRules.ReservedUser(target.Name) ?? (password is null ? null : MySqlNameRules.PasswordProblem(password));
        if (problem is not null) return Faults.BadRequest($"User update error: {problem}");
        var guest = r.Guest("DBaaSUserUpdateAttributes", new JsonObject { ["username"] = identity.Name });
        if (target != identity && await UserExistsAsync(guest, target, r.Aborted).ConfigureAwait(false))
            return Faults.BadRequest($"A user with the name \"{target.Name}\" already exists.");
        // Only the attributes checked above go to the guest.
        var checkedAttributes = new JsonObject();
        if (newName is not null) checkedAttributes["name"] = newName;
        if (newHost is not null) checkedAttributes["host"] = newHost;
        if (password is not null) checkedAttributes["password"] = password;
        await Guarded(() => guest.UpdateAttributesAsync(identity.Name, identity.Host, checkedAttributes, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ListAccessAsync(ResourceRequest r, string userId)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false);
        if (fault is not null) return fault;
        var (_, loadFault) = await LoadUserAsync(r, userId, "Error loading user").ConfigureAwait(false);
        if (loadFault is not null) return loadFault;
        var databases = await AccessAsync(r, UserHostId.Parse(userId)).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object> { ["databases"] = databases.Select(n => new Dictionary<string, object> { ["name"] = n }).ToList() });
    }

    private static async Task<IResult> GrantAccessAsync(ResourceRequest r, string userId)
    {
        var (body, fault) = await r.ReadBodyAsync(TroveRequestSchemas.DatabaseReferences).ConfigureAwait(false);
        if (fault is not null) return fault;
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;
        var names = new List<string>();
        foreach (var reference in body!["databases"]!.AsArray())
        {
            // Trove's API passes these names on unchecked (its guest checks them); here they are checked before the guest is asked anything.
            var name = Text(reference!["name"]);
            if ((MySqlNameRules.SchemaNameProblem(name) ?? MySqlNameRules.ReservedDatabase(name)) is { } problem) return Faults.BadRequest(problem);
            names.Add(name);
        }
        var (_, loadFault) = await LoadUserAsync(r, userId, "Error loading user").ConfigureAwait(false);
        if (loadFault is not null) return loadFault;
        var identity = UserHostId.Parse(userId);
        var databases = new JsonArray([.. names.Select(n => (JsonNode)n)]);
        var guest = r.Guest("DBaaSUserGrant", new JsonObject { ["username"] = identity.Name, ["database"] = databases.DeepClone() });
        await Guarded(() => guest.GrantAccessAsync(identity.Name, identity.Host, databases, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> RevokeAccessAsync(ResourceRequest r, string userId, string database)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false);
        if (fault is not null) return fault;
        var (_, loadFault) = await LoadUserAsync(r, userId, "Error loading user").ConfigureAwait(false);
        if (loadFault is not null) return loadFault;
        var identity = UserHostId.Parse(userId);
        // Only a database the user has access to is revoked, so the name sent to the guest is one the guest gave.
        var access = await AccessAsync(r, identity).ConfigureAwait(false);
        if (!access.Contains(database)) return Faults.NotFound($"Database {database} cannot be found on the instance.");
        var guest = r.Guest("DBaaSUserRevoke", new JsonObject { ["username"] = identity.Name, ["database"] = new JsonArray([.. access.Select(n => (JsonNode)n)]) });
        await Guarded(() => guest.RevokeAccessAsync(identity.Name, identity.Host, database, r.Aborted)).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// Trove's <c>User.load</c>: the instance ready (422), the name and host valid and not reserved (400 with
    /// <paramref name="errorPrefix"/>), the user on the guest (404).
    /// </summary>
    private static async Task<(JsonObject? User, IResult? Fault)> LoadUserAsync(ResourceRequest r, string userId, string errorPrefix)
    {
        var identity = UserHostId.Parse(userId);
        var fault = await r.VerifyReadyAsync(MySqlManagers).ConfigureAwait(false);
        if (fault is not null) return (null, fault);
        var problem = UserProblem(identity) ?? MySqlNameRules.ReservedUser(identity.Name);
        if (problem is not null) return (null, Faults.BadRequest($"{errorPrefix}: {problem}"));
        var user = await GetUserAsync(r.Guest(), identity, r.Aborted).ConfigureAwait(false);
        return user is null ? (null, Faults.NotFound($"User {userId} cannot be found on the instance.")) : (user, null);
    }

    private static async Task<JsonObject?> GetUserAsync(GuestClient guest, UserHostId identity, CancellationToken ct) =>
        await Guarded(() => guest.GetUserAsync(identity.Name, identity.Host, ct)).ConfigureAwait(false) as JsonObject;

    private static async Task<bool> UserExistsAsync(GuestClient guest, UserHostId identity, CancellationToken ct)
    {
        var (items, _) = Page(await Guarded(() => guest.ListUsersAsync(1, identity.ToString(), true, ct)).ConfigureAwait(false));
        return items.Count > 0 && Text(items[0]?["_name"]) == identity.Name && Text(items[0]?["_host"]) == identity.Host;
    }

    private static async Task<List<string>> AccessAsync(ResourceRequest r, UserHostId identity)
    {
        var reply = await Guarded(() => r.Guest().ListAccessAsync(identity.Name, identity.Host, r.Aborted)).ConfigureAwait(false);
        return (reply as JsonArray ?? []).Select(d => Text(d?["_name"])).ToList();
    }

    /// <summary>MySQLUser's name then host checks.</summary>
    private static string? UserProblem(UserHostId identity) =>
        MySqlNameRules.UserNameProblem(identity.Name) ?? MySqlNameRules.HostProblem(identity.Host);

    // ---- root ----

    /// <summary>Trove answers from its root history (an enable through the API), not from the guest.</summary>
    private static async Task<IResult> ShowRootAsync(ResourceRequest r)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false) ?? await r.VerifyReadyAsync(RootManagers).ConfigureAwait(false);
        if (fault is not null) return fault;
        return Results.Json(new Dictionary<string, object> { ["rootEnabled"] = r.Instance.RootEnabledAt is not null });
    }

    private static async Task<IResult> EnableRootAsync(ResourceRequest r)
    {
        // troveclient sends {"password": "..."} or no body at all; an empty password means "generate one", as in Trove.
        var (body, fault) = await r.ReadBodyAsync(null).ConfigureAwait(false);
        if (fault is not null) return fault;
        if (body is not null and not JsonObject) return Faults.BadRequest("The request body must be an object.");
        var passwordNode = body?["password"];
        if (passwordNode is not null && OptionalText(passwordNode) is null) return Faults.BadRequest("The password must be a string.");
        var password = OptionalText(passwordNode);
        if ((fault = await r.LoadInstanceAsync().ConfigureAwait(false)) is not null) return fault;
        // Trove sends the password on unchecked; it goes into SQL on the guest, so it gets the user password rule here.
        if (!string.IsNullOrEmpty(password) && MySqlNameRules.PasswordProblem(password) is { } problem) return Faults.BadRequest(problem);
        if ((fault = await r.VerifyReadyAsync(RootManagers).ConfigureAwait(false)) is not null) return fault;
        var root = await Guarded(() => r.Guest().EnableRootAsync(string.IsNullOrEmpty(password) ? null : password, r.Aborted)).ConfigureAwait(false);
        await r.Instances.SetRootEnabledAsync(r.Instance.Id, r.Aborted).ConfigureAwait(false);
        return Results.Json(new Dictionary<string, object?>
        {
            ["user"] = new Dictionary<string, object?> { ["name"] = OptionalText(root?["_name"]) ?? "root", ["password"] = OptionalText(root?["_password"]) },
        });
    }

    /// <summary>Trove: 404 when root was never enabled through the API; the history stays, so GET still says enabled.</summary>
    private static async Task<IResult> DisableRootAsync(ResourceRequest r)
    {
        var fault = await r.LoadInstanceAsync().ConfigureAwait(false) ?? await r.VerifyReadyAsync(RootManagers).ConfigureAwait(false);
        if (fault is not null) return fault;
        if (r.Instance.RootEnabledAt is null) return Faults.NotFound("Root user has never been enabled on the instance.");
        await Guarded(() => r.Guest().DisableRootAsync(r.Aborted)).ConfigureAwait(false);
        return Results.NoContent();
    }

    // ---- shapes ----

    /// <summary>A Schema as Trove serializes it for the guest (<c>MySQLSchema.__dict__</c>).</summary>
    private static JsonObject Schema(string name, string? characterSet, string? collate) =>
        new() { ["_name"] = name, ["_collate"] = collate, ["_character_set"] = characterSet };

    /// <summary>A User as Trove serializes it for the guest (<c>MySQLUser.__dict__</c>).</summary>
    private static JsonObject User(UserHostId identity, string? password, IReadOnlyList<string> databases) => new()
    {
        ["_name"] = identity.Name, ["_password"] = password, ["_host"] = identity.Host,
        ["_databases"] = new JsonArray([.. databases.Select(d => (JsonNode)Schema(d, null, null))]), ["_is_root"] = false,
    };

    /// <summary>Trove's UserView: name, host and the names of the user's databases.</summary>
    private static Dictionary<string, object> UserView(JsonNode user) => new()
    {
        ["name"] = Text(user["_name"]),
        ["host"] = OptionalText(user["_host"]) ?? "%",
        ["databases"] = (user["_databases"] as JsonArray ?? []).Select(d => new Dictionary<string, object> { ["name"] = Text(d?["_name"]) }).ToList(),
    };

    /// <summary>A guest's <c>[items, next_marker]</c>.</summary>
    private static (IReadOnlyList<JsonNode?> Items, string? Next) Page(JsonNode? reply) =>
        reply is JsonArray { Count: 2 } page
            ? ((page[0] as JsonArray ?? []).ToList(), OptionalText(page[1]))
            : throw new GuestFailure($"the guest answered {reply?.ToJsonString() ?? "nothing"} instead of [items, next_marker]");

    /// <summary>
    /// Trove's SimplePaginatedDataView: the items, and a "next" link (this URL with the marker) only when there is a next
    /// page. Trove forces https and quotes the marker twice; here the link keeps the request's scheme and the marker is
    /// quoted once, so "user@host" markers come back as they were.
    /// </summary>
    private static IResult Paged(HttpContext http, string key, object items, string? next)
    {
        var view = new Dictionary<string, object> { [key] = items };
        if (!string.IsNullOrEmpty(next))
        {
            var query = http.Request.Query.Where(q => q.Key != "marker")
                .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
                .Append($"marker={Uri.EscapeDataString(next)}");
            var href = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}?{string.Join("&", query)}";
            view["links"] = new List<Dictionary<string, string>> { new() { ["rel"] = "next", ["href"] = href } };
        }
        return Results.Json(view);
    }

    /// <summary>limit (at most the page size; Trove's <c>pagination_limit</c>) and marker from the query.</summary>
    private static (int Limit, string? Marker, IResult? Fault) Paging(HttpContext http)
    {
        var marker = http.Request.Query["marker"].ToString();
        var limitText = http.Request.Query["limit"].ToString();
        var limit = PageSize;
        // Trove fails with a 500 on a limit that is not an integer.
        if (limitText.Length > 0 && (!int.TryParse(limitText, out limit) || limit < 1))
            return (0, null, Faults.BadRequest($"The limit '{limitText}' is not a positive integer."));
        return (Math.Min(limit, PageSize), marker.Length == 0 ? null : marker, null);
    }

    private static string Text(JsonNode? node) => OptionalText(node) ?? "";

    private static string? OptionalText(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>Runs a guest call or cast; whatever it throws (but a cancelled request) becomes a <see cref="GuestFailure"/>.</summary>
    private static async Task<T> Guarded<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not GuestFailure)
        {
            // oslo's RemoteError shows the remote message; a timeout "Timed out waiting for a reply to message ID ...".
            throw new GuestFailure(e is Trove.Guest.Messaging.Client.RemoteErrorException remote ? remote.RemoteMessage : e.Message);
        }
    }

    private static Task Guarded(Func<Task> call) => Guarded(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });

    /// <summary>A guest call or cast that failed; <see cref="Handle"/> answers Trove's GuestError.</summary>
    private sealed class GuestFailure(string message) : Exception(message);

    /// <summary>One request on one instance: who asks, the instance once loaded, and its guest with Trove's request context.</summary>
    private sealed class ResourceRequest(HttpContext http, string instanceId)
    {
        private readonly string _requestId = $"req-{Guid.NewGuid()}";
        private InstanceRecord? _instance;

        public HttpContext Http { get; } = http;
        public CancellationToken Aborted => Http.RequestAborted;
        public Principal Principal { get; } = ApiRequest.Principal(http);
        public InstanceStore Instances => Http.RequestServices.GetRequiredService<InstanceStore>();
        public InstanceRecord Instance => _instance ?? throw new InvalidOperationException("the instance is not loaded");

        /// <summary>
        /// The instance in the caller's project, or a 404 that does not tell another project's instance from a missing one.
        /// Trove's text here is "Resource X cannot be found."; this API says "Instance X cannot be found." everywhere.
        /// </summary>
        public async Task<IResult?> LoadInstanceAsync()
        {
            _instance = await Instances.GetAsync(instanceId, Principal.ProjectId, Aborted).ConfigureAwait(false);
            return _instance is null ? Faults.NotFound($"Instance {instanceId} cannot be found.") : null;
        }

        /// <summary>Trove's <c>load_and_verify</c>: a datastore this API serves, whose database is running (422 otherwise).</summary>
        public async Task<IResult?> VerifyReadyAsync(string[] managers)
        {
            var datastores = await Http.RequestServices.GetRequiredService<DatastoreStore>().ListAsync(Aborted).ConfigureAwait(false);
            var manager = datastores.SelectMany(d => d.Versions).FirstOrDefault(v => v.Id == Instance.DatastoreVersionId)?.Manager ?? "";
            if (!managers.Contains(manager)) return Faults.Unprocessable($"Operation not supported for datastore {manager}.");
            // MYSQL_RESPONSIVE_STATUSES: only a running database takes these requests.
            if (Instance.ServiceStatus is not (InstanceServiceStatus.Healthy or InstanceServiceStatus.Running))
                return Faults.Unprocessable($"Instance {Instance.Id} is not ready, status: {Instance.ServiceStatus}.");
            return null;
        }

        /// <summary>
        /// The instance's guest. With a notification class, the context carries Trove's <c>trove_notification</c>, which the
        /// guest answers with notify_end or notify_exc_info (server_type "guest", as Trove's cast wrapper sets it).
        /// </summary>
        public GuestClient Guest(string? notification = null, JsonObject? traits = null)
        {
            var clients = Http.RequestServices.GetService<GuestClients>()
                ?? throw new InvalidOperationException("GuestClients is not registered: the API was built without guest RPC");
            var context = new JsonObject
            {
                ["request_id"] = _requestId, ["tenant"] = Principal.ProjectId, ["project_id"] = Principal.ProjectId,
                ["user"] = Principal.UserId, ["user_id"] = Principal.UserId, ["is_admin"] = false,
            };
            if (notification is not null)
            {
                var payload = new JsonObject
                {
                    ["request_id"] = _requestId, ["server_type"] = "guest", ["client_ip"] = Http.Connection.RemoteIpAddress?.ToString(),
                    ["server_ip"] = Http.Request.Host.ToString(), ["tenant_id"] = Principal.ProjectId, ["instance_id"] = Instance.Id,
                };
                foreach (var (key, value) in traits ?? []) payload[key] = value?.DeepClone();
                payload["notification_classname"] = $"trove.common.notification.{notification}";
                context["trove_notification"] = payload;
            }
            return clients.For(Instance.Id, Instance.RpcKey, context);
        }

        /// <summary>
        /// The body as JSON, within <see cref="ApiRequest.MaxBodyBytes"/> (413 beyond), checked against a Trove schema (400).
        /// No body reads as <c>{}</c> for a schema (Trove then names the missing key) and as null without one.
        /// </summary>
        public async Task<(JsonNode? Body, IResult? Fault)> ReadBodyAsync(Func<JsonNode?, string?>? schema)
        {
            if (Http.Request.ContentLength > ApiRequest.MaxBodyBytes) return (null, Faults.TooLarge());
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await Http.Request.Body.ReadAsync(chunk, Aborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > ApiRequest.MaxBodyBytes) return (null, Faults.TooLarge());
                buffer.Write(chunk, 0, read);
            }
            JsonNode? body;
            try
            {
                body = buffer.Length == 0 ? null : JsonNode.Parse(buffer.ToArray());
            }
            catch (JsonException e)
            {
                return (null, Faults.BadRequest($"The request body is not valid JSON: {e.Message}"));
            }
            if (schema is null) return (body, null);
            body ??= new JsonObject();
            return schema(body) is { } problem ? (null, Faults.BadRequest(problem)) : (body, null);
        }
    }
}
