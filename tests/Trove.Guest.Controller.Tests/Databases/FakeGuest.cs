using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>One RPC request as the fake guest received it (decrypted).</summary>
public sealed record GuestCall(string Method, JsonObject Arguments, JsonObject Context, bool IsCall);

/// <summary>
/// A guest agent's database, user and root methods on a real broker (topic <c>guestagent.&lt;id&gt;</c>, the instance's
/// key), over an in-memory server: Trove's guest paging (sorted, marker, include_marker, <c>[items, next_marker]</c>) and
/// shapes (<c>_name</c>, <c>_host</c>...). It records every request so tests can prove what reached a guest, and what did not.
/// </summary>
public sealed class FakeGuest : IAsyncDisposable
{
    private readonly ConcurrentQueue<GuestCall> _calls = new();
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, JsonObject> _databases = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, (string Name, string Host, List<string> Databases)> _users = new(StringComparer.Ordinal);
    private RpcServer _server = null!;

    public IReadOnlyList<GuestCall> Calls => [.. _calls];

    public bool RootEnabled { get; private set; }

    /// <summary>A method that fails with this message (as a ValueError), to see how the API reports a guest error.</summary>
    public string? FailingMethod { get; set; }

    public static async Task<FakeGuest> StartAsync(string transportUrl, string instanceId, string rpcKey)
    {
        var guest = new FakeGuest();
        guest._server = new RpcServer(
            new RpcServerOptions { TransportUrl = transportUrl, Exchange = "trove", Topic = $"guestagent.{instanceId}", Server = instanceId },
            new RpcDispatcher([guest.Endpoint()]), SecureSerializer.ForTroveKey(rpcKey), new TestLogger());
        await guest._server.StartAsync(CancellationToken.None);
        return guest;
    }

    public void AddDatabase(string name) { lock (_lock) _databases[name] = Schema(name); }

    public void AddUser(string name, string host, params string[] databases) { lock (_lock) _users[$"{name}@{host}"] = (name, host, [.. databases]); }

    /// <summary>Waits for a request of <paramref name="method"/> (casts arrive after the API answered 202).</summary>
    public async Task<GuestCall> WaitForAsync(string method)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_calls.FirstOrDefault(c => c.Method == method) is { } call) return call;
            await Task.Delay(20);
        }
        throw new TimeoutException($"the guest never received {method}; it received: {string.Join(", ", _calls.Select(c => c.Method))}");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private RpcEndpoint Endpoint()
    {
        var endpoint = new RpcEndpoint("1.0");
        foreach (var method in new[]
                 {
                     "create_database", "list_databases", "delete_database", "create_user", "list_users", "get_user", "delete_user",
                     "change_passwords", "update_attributes", "grant_access", "revoke_access", "list_access", "enable_root",
                     "enable_root_with_password", "disable_root", "is_root_enabled",
                 })
        {
            endpoint.Map(method, (request, _) =>
            {
                _calls.Enqueue(new GuestCall(method, (JsonObject)request.Arguments.Values.DeepClone(), (JsonObject)request.Context.DeepClone(), request.IsCall));
                if (FailingMethod == method) throw RpcFailureException.ValueError($"{method} failed on purpose");
                lock (_lock) return ValueTask.FromResult(Handle(method, request.Arguments.Values));
            });
        }
        return endpoint;
    }

    private JsonNode? Handle(string method, JsonObject a)
    {
        switch (method)
        {
            case "create_database":
                foreach (var db in a["databases"]!.AsArray()) _databases[(string)db!["_name"]!] = (JsonObject)db.DeepClone();
                return null;
            case "delete_database":
                _databases.Remove((string)a["database"]!["_name"]!);
                return null;
            case "list_databases":
                return Page(_databases.Select(d => (d.Key, (JsonNode)d.Value.DeepClone())), a);
            case "create_user":
                foreach (var u in a["users"]!.AsArray())
                    AddUser((string)u!["_name"]!, (string)u["_host"]!, [.. u["_databases"]!.AsArray().Select(d => (string)d!["_name"]!)]);
                return null;
            case "delete_user":
                _users.Remove($"{a["user"]!["_name"]}@{a["user"]!["_host"]}");
                return null;
            case "list_users":
                return Page(_users.Select(u => (u.Key, (JsonNode)User(u.Value))), a);
            case "get_user":
                return _users.TryGetValue($"{a["username"]}@{a["hostname"]}", out var found) ? User(found) : null;
            case "update_attributes":
            {
                var key = $"{a["username"]}@{a["hostname"]}";
                var user = _users[key];
                var attrs = a["user_attrs"]!.AsObject();
                _users.Remove(key);
                AddUser((string?)attrs["name"] ?? user.Name, (string?)attrs["host"] ?? user.Host, [.. user.Databases]);
                return null;
            }
            case "grant_access":
                _users[$"{a["username"]}@{a["hostname"]}"].Databases.AddRange(a["databases"]!.AsArray().Select(d => (string)d!));
                return null;
            case "revoke_access":
                _users[$"{a["username"]}@{a["hostname"]}"].Databases.Remove((string)a["database"]!);
                return null;
            case "list_access":
                return new JsonArray([.. _users[$"{a["username"]}@{a["hostname"]}"].Databases.Select(d => (JsonNode)Schema(d))]);
            case "enable_root":
            case "enable_root_with_password":
                RootEnabled = true;
                return new JsonObject
                {
                    ["_name"] = "root", ["_password"] = (string?)a["root_password"] ?? "generated-root-password", ["_host"] = "%",
                    ["_databases"] = new JsonArray(), ["_is_root"] = true,
                };
            case "disable_root":
                RootEnabled = false;
                return null;
            case "is_root_enabled":
                return RootEnabled;
            default:
                return null;
        }
    }

    /// <summary>Trove's guest paging: sorted keys, from the marker (included or not), limit items and the last key when more remain.</summary>
    private static JsonArray Page(IEnumerable<(string Key, JsonNode Item)> sorted, JsonObject a)
    {
        var marker = (string?)a["marker"] ?? "";
        var include = (bool?)a["include_marker"] ?? false;
        var rest = sorted.Where(x => include ? string.CompareOrdinal(x.Key, marker) >= 0 : string.CompareOrdinal(x.Key, marker) > 0).ToList();
        var limit = (int?)a["limit"];
        var page = limit is { } l && l < rest.Count ? rest.Take(l).ToList() : rest;
        var next = page.Count < rest.Count ? page[^1].Key : null;
        return new JsonArray(new JsonArray([.. page.Select(p => p.Item)]), next);
    }

    private static JsonObject Schema(string name) => new() { ["_name"] = name, ["_character_set"] = "utf8mb4", ["_collate"] = "utf8mb4_general_ci" };

    private static JsonObject User((string Name, string Host, List<string> Databases) u) => new()
    {
        ["_name"] = u.Name, ["_host"] = u.Host, ["_password"] = null,
        ["_databases"] = new JsonArray([.. u.Databases.Select(d => (JsonNode)Schema(d))]), ["_is_root"] = false,
    };
}
