using System.Net;
using System.Text.Json.Nodes;
using FluentAssertions;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// Users and their access over HTTP against a fake guest: create (Trove's serialized users), list with "name@host"
/// markers, show/delete by troveclient's quoted <c>name@host</c> id, passwords, attributes, grant and revoke; hostile
/// names, hosts and passwords refused with Trove's 400 before the guest hears of them.
/// </summary>
[Collection(GuestApiCollection.Name)]
public sealed class UsersApiTests(GuestApiFixture api)
{
    /// <summary>troveclient's <c>quote_user_host</c>: percent-encode "name@host" and write '.' as %2e.</summary>
    private static string Quoted(string name, string? host = null) =>
        Uri.EscapeDataString(host is null ? name : $"{name}@{host}").Replace(".", "%2e");

    [Fact]
    public async Task Users_are_created_shown_listed_and_deleted_as_Trove_does()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.AddDatabase("app");
        var path = api.InstancePath(instance, api.ProjectA);

        var created = await api.SendAsync(HttpMethod.Post, path + "/users", """
            {"users": [{"name": "alice", "password": "s3cret-Pw", "host": "10.0.0.%", "databases": [{"name": "app"}, {"name": "logs"}]},
                       {"name": "bob", "password": "other-Pw1"}]}
            """);
        created.Status.Should().Be(HttpStatusCode.Accepted);
        var cast = await guest.WaitForAsync("create_user");
        JsonNode.DeepEquals(cast.Arguments["users"], JsonNode.Parse("""
            [{"_name": "alice", "_password": "s3cret-Pw", "_host": "10.0.0.%",
              "_databases": [{"_name": "app", "_collate": null, "_character_set": null}, {"_name": "logs", "_collate": null, "_character_set": null}],
              "_is_root": false},
             {"_name": "bob", "_password": "other-Pw1", "_host": "%", "_databases": [], "_is_root": false}]
            """)).Should().BeTrue(cast.Arguments.ToJsonString());
        ((string?)cast.Context["trove_notification"]!["notification_classname"]).Should().Be("trove.common.notification.DBaaSUserCreate");
        ((string?)cast.Context["trove_notification"]!["username"]).Should().Be("alice,bob");
        guest.Calls.Where(c => c.Method == "list_users").Select(c => ((string?)c.Arguments["marker"], (bool?)c.Arguments["include_marker"]))
            .Should().Equal(("alice@10.0.0.%", true), ("bob@%", true));

        guest.AddUser("root", "%");
        guest.AddUser("os_admin", "localhost");
        var list = await api.SendAsync(HttpMethod.Get, path + "/users");
        list.Status.Should().Be(HttpStatusCode.OK);
        JsonNode.DeepEquals(JsonNode.Parse(list.Body.GetRawText()), JsonNode.Parse("""
            {"users": [{"name": "alice", "host": "10.0.0.%", "databases": [{"name": "app"}, {"name": "logs"}]},
                       {"name": "bob", "host": "%", "databases": []}]}
            """)).Should().BeTrue(list.Body.GetRawText());

        var shown = await api.SendAsync(HttpMethod.Get, $"{path}/users/{Quoted("alice", "10.0.0.%")}");
        shown.Status.Should().Be(HttpStatusCode.OK);
        shown.Body.GetProperty("user").GetProperty("host").GetString().Should().Be("10.0.0.%");
        var get = guest.Calls.Last(c => c.Method == "get_user");
        ((string?)get.Arguments["username"], (string?)get.Arguments["hostname"]).Should().Be(("alice", "10.0.0.%"));
        (await api.SendAsync(HttpMethod.Get, $"{path}/users/bob")).Body.GetProperty("user").GetProperty("host").GetString().Should().Be("%", "no host means '%'");

        var missing = await api.SendAsync(HttpMethod.Get, $"{path}/users/ghost");
        missing.Status.Should().Be(HttpStatusCode.NotFound);
        missing.FaultMessage("itemNotFound").Should().Be("User ghost cannot be found on the instance.");
        (await api.SendAsync(HttpMethod.Get, $"{path}/users/root")).FaultMessage("badRequest")
            .Should().Be("User show error: User name \"root\" is on the reserved list: ['os_admin', 'root'].");

        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/{Quoted("alice", "10.0.0.%")}")).Status.Should().Be(HttpStatusCode.Accepted);
        var delete = await guest.WaitForAsync("delete_user");
        JsonNode.DeepEquals(delete.Arguments["user"], JsonNode.Parse("""{"_name": "alice", "_password": null, "_host": "10.0.0.%", "_databases": [], "_is_root": false}"""))
            .Should().BeTrue(delete.Arguments.ToJsonString());
        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/ghost")).Status.Should().Be(HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string> HostileUsers => new()
    {
        // name, password, host, databases: each request has exactly one bad field.
        { """{"name": "a' OR 1=1--", "password": "pw1"}""", "User create error: 'a' OR 1=1--' is not a valid user name." },
        { """{"name": "`evil`", "password": "pw1"}""", "User create error: '`evil`' is not a valid user name." },
        { """{"name": "a\\\" OR 1=1", "password": "pw1"}""", "User create error: 'a\\\" OR 1=1' is not a valid user name." },
        { """{"name": "x'; DROP DATABASE mysql; --", "password": "pw1"}""", "User create error: User name 'x'; DROP DATABASE mysql; --' is too long. Max length = 16." },
        { """{"name": " bob", "password": "pw1"}""", "User create error: ' bob' is not a valid user name." },
        { """{"name": "root", "password": "pw1"}""", "User create error: User name \"root\" is on the reserved list: ['os_admin', 'root']." },
        { """{"name": "os_admin", "password": "pw1"}""", "User create error: User name \"os_admin\" is on the reserved list: ['os_admin', 'root']." },
        { """{"name": "bob", "password": "pw1", "host": "localhost'--"}""", "Validation error: users[0]['host'] \"localhost'--\" does not match '^[%]?[\\\\w(-).]*[%]?$'" },
        { """{"name": "bob", "password": "pw1", "host": "%.evil.com"}""", "User create error: '%.evil.com' is not a valid hostname." },
        { """{"name": "bob", "password": "pw'; DROP USER root; --"}""",
            "User create error: The password is not valid: it is empty, starts or ends with whitespace, or holds one of ' \" ; ` , / \\ or an unprintable character." },
        { """{"name": "bob", "password": "pw1", "databases": [{"name": "x`; DROP DATABASE y; --"}]}""", "User create error: 'x`; DROP DATABASE y; --' is not a valid schema name." },
        { """{"name": "bob", "password": "pw1", "databases": [{"name": "mysql"}]}""",
            "User create error: Database name \"mysql\" is on the reserved list: ['mysql', 'information_schema', 'performance_schema', 'sys']." },
        { """{"name": "bob"}""", "Validation error: users[0] 'password' is a required property" },
        { """{"name": "", "password": "!!!"}""", "Validation error: users[0]['name'] '' should be non-empty; users[0]['name'] '' does not match '^.*[0-9a-zA-Z]+.*$'; users[0]['password'] '***' does not match '^.*[0-9a-zA-Z]+.*$'" },
    };

    [Theory]
    [MemberData(nameof(HostileUsers))]
    public async Task Hostile_user_fields_get_400_and_never_reach_the_guest(string user, string message)
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var answer = await api.SendAsync(HttpMethod.Post, api.InstancePath(instance, api.ProjectA) + "/users", $$"""{"users": [{{user}}]}""");
        answer.Status.Should().Be(HttpStatusCode.BadRequest);
        answer.FaultMessage("badRequest").Should().Be(message);
        answer.Body.ToString().Should().NotContain("DROP USER", "a password is not quoted back");
        await Task.Delay(200);
        guest!.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task Hostile_names_in_URLs_and_other_bodies_get_400_and_never_reach_the_guest()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.AddUser("bob", "%");
        var path = api.InstancePath(instance, api.ProjectA);
        const string hostile = "a';DROP--";

        (await api.SendAsync(HttpMethod.Get, $"{path}/users/{Quoted(hostile)}")).FaultMessage("badRequest").Should().Be($"User show error: '{hostile}' is not a valid user name.");
        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/{Quoted(hostile)}")).FaultMessage("badRequest").Should().Be($"User delete error: '{hostile}' is not a valid user name.");
        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/{Quoted("bob", "10.0.0.1'--")}")).FaultMessage("badRequest")
            .Should().Be("User delete error: '10.0.0.1'--' is not a valid hostname.");
        (await api.SendAsync(HttpMethod.Get, $"{path}/users/{Quoted(hostile)}/databases")).FaultMessage("badRequest").Should().Be($"Error loading user: '{hostile}' is not a valid user name.");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users", $$"""{"users": [{"name": "bob", "password": "ok1"}, {"name": "{{hostile}}", "password": "ok2"}]}"""))
            .FaultMessage("badRequest").Should().Be($"Error loading user: '{hostile}' is not a valid user name.");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users", """{"users": [{"name": "bob", "password": "new'pw1"}]}""")).FaultMessage("badRequest")
            .Should().StartWith("Error loading user: The password is not valid");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/{Quoted(hostile)}/databases", """{"databases": [{"name": "app"}]}""")).Status.Should().Be(HttpStatusCode.BadRequest);

        // Requests on bob (who exists) with a hostile new value: Trove loads bob first (get_user), then refuses.
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", $$$"""{"user": {"name": "{{{hostile}}}"}}""")).FaultMessage("badRequest")
            .Should().Be($"User update error: '{hostile}' is not a valid user name.");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", """{"user": {"password": "x`y1"}}""")).FaultMessage("badRequest")
            .Should().StartWith("User update error: The password is not valid");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", """{"user": {"name": "root"}}""")).FaultMessage("badRequest")
            .Should().Be("User update error: User name \"root\" is on the reserved list: ['os_admin', 'root'].");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", """{"user": {}}""")).FaultMessage("badRequest").Should().Be("Validation error: user {} should be non-empty");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob/databases", """{"databases": [{"name": "x'; DROP DATABASE y; --"}]}""")).FaultMessage("badRequest")
            .Should().Be("'x'; DROP DATABASE y; --' is not a valid schema name.");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob/databases", """{"databases": [{"name": "mysql"}]}""")).Status.Should().Be(HttpStatusCode.BadRequest);
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob/databases", """{"databases": [{"name": "a1"}, {"name": "a1"}]}""")).FaultMessage("badRequest")
            .Should().Be("Validation error: databases [{'name': 'a1'}, {'name': 'a1'}] has non-unique elements");

        await Task.Delay(200);
        guest.Calls.Select(c => c.Method).Should().OnlyContain(m => m == "get_user", "only bob was looked up");
        guest.Calls.Select(c => c.Arguments.ToJsonString()).Should().NotContain(a => a.Contains("DROP") || a.Contains('`') || a.Contains("'"));
    }

    [Fact]
    public async Task Duplicate_and_existing_users_are_400()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.AddUser("bob", "%");
        var path = api.InstancePath(instance, api.ProjectA) + "/users";
        (await api.SendAsync(HttpMethod.Post, path, """{"users": [{"name": "amy", "password": "pw1"}, {"name": "amy", "password": "pw2", "host": "%"}]}"""))
            .FaultMessage("badRequest").Should().Be("Two or more users share the same name and host in the initial users list. Please correct the names or remove the duplicate entries.");
        (await api.SendAsync(HttpMethod.Post, path, """{"users": [{"name": "amy", "password": "pw1"}, {"name": "bob", "password": "pw2"}]}"""))
            .FaultMessage("badRequest").Should().Be("A user with the name \"bob\" already exists.");
        // The same name on another host is another user.
        (await api.SendAsync(HttpMethod.Post, path, """{"users": [{"name": "bob", "password": "pw2", "host": "192.168.0.1"}]}""")).Status.Should().Be(HttpStatusCode.Accepted);
        (await guest.WaitForAsync("create_user")).Arguments["users"]!.AsArray().Should().ContainSingle();
    }

    [Fact]
    public async Task Passwords_attributes_and_access_reach_the_guest_in_Troves_shapes()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        guest!.AddUser("bob", "%", "app");
        guest.AddUser("carl", "10.1.2.3");
        var path = api.InstancePath(instance, api.ProjectA);

        (await api.SendAsync(HttpMethod.Put, path + "/users", """{"users": [{"name": "bob", "password": "n3w-pw"}, {"name": "carl", "host": "10.1.2.3", "password": "x9"}]}"""))
            .Status.Should().Be(HttpStatusCode.Accepted);
        var change = await guest.WaitForAsync("change_passwords");
        JsonNode.DeepEquals(change.Arguments["users"], JsonNode.Parse("""
            [{"name": "bob", "host": "%", "password": "n3w-pw"}, {"name": "carl", "host": "10.1.2.3", "password": "x9"}]
            """)).Should().BeTrue(change.Arguments.ToJsonString());
        ((string?)change.Context["trove_notification"]!["notification_classname"]).Should().Be("trove.common.notification.DBaaSUserChangePassword");
        (await api.SendAsync(HttpMethod.Put, path + "/users", """{"users": [{"name": "ghost", "password": "pw1"}]}""")).FaultMessage("itemNotFound")
            .Should().Be("User ghost@% cannot be found on the instance.");

        (await api.SendAsync(HttpMethod.Put, $"{path}/users/{Quoted("carl", "10.1.2.3")}/databases", """{"databases": [{"name": "app"}, {"name": "logs"}]}"""))
            .Status.Should().Be(HttpStatusCode.Accepted);
        var grant = await guest.WaitForAsync("grant_access");
        ((string?)grant.Arguments["username"], (string?)grant.Arguments["hostname"]).Should().Be(("carl", "10.1.2.3"));
        JsonNode.DeepEquals(grant.Arguments["databases"], JsonNode.Parse("""["app", "logs"]""")).Should().BeTrue("grant_access takes plain names");
        var access = await api.SendAsync(HttpMethod.Get, $"{path}/users/{Quoted("carl", "10.1.2.3")}/databases");
        DatabasesApiTests.Names(access.Body, "databases").Should().Equal("app", "logs");

        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/{Quoted("carl", "10.1.2.3")}/databases/logs")).Status.Should().Be(HttpStatusCode.Accepted);
        var revoke = await guest.WaitForAsync("revoke_access");
        ((string?)revoke.Arguments["database"]).Should().Be("logs");
        (await api.SendAsync(HttpMethod.Delete, $"{path}/users/{Quoted("carl", "10.1.2.3")}/databases/logs")).FaultMessage("itemNotFound")
            .Should().Be("Database logs cannot be found on the instance.");

        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", """{"user": {"name": "carl", "host": "10.1.2.3"}}""")).FaultMessage("badRequest")
            .Should().Be("A user with the name \"carl\" already exists.");
        (await api.SendAsync(HttpMethod.Put, $"{path}/users/bob", """{"user": {"name": "robert", "password": "pw-2", "extra": "ignored"}}""")).Status.Should().Be(HttpStatusCode.Accepted);
        var update = await guest.WaitForAsync("update_attributes");
        ((string?)update.Arguments["username"], (string?)update.Arguments["hostname"]).Should().Be(("bob", "%"));
        JsonNode.DeepEquals(update.Arguments["user_attrs"], JsonNode.Parse("""{"name": "robert", "password": "pw-2"}""")).Should().BeTrue("only checked attributes go on");
        DatabasesApiTests.Names((await api.SendAsync(HttpMethod.Get, path + "/users")).Body, "users").Should().Equal("carl", "robert");
    }

    [Fact]
    public async Task User_lists_page_with_name_at_host_markers()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        foreach (var i in Enumerable.Range(0, 22)) guest!.AddUser($"u{i:00}", i % 2 == 0 ? "%" : "10.0.0.1");
        var path = api.InstancePath(instance, api.ProjectA) + "/users";
        var first = await api.SendAsync(HttpMethod.Get, path);
        first.Body.GetProperty("users").GetArrayLength().Should().Be(20);
        var query = new Uri(first.Body.GetProperty("links")[0].GetProperty("href").GetString()!).Query;
        query.Should().Be("?marker=u19%4010.0.0.1");
        var second = await api.SendAsync(HttpMethod.Get, path + query);
        DatabasesApiTests.Names(second.Body, "users").Should().Equal("u20", "u21");
        ((string?)guest!.Calls.Last(c => c.Method == "list_users").Arguments["marker"]).Should().Be("u19@10.0.0.1");
    }
}
