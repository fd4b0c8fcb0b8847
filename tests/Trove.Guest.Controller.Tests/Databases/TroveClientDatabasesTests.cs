using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// The real <c>trove</c> command (python3-troveclient) against the API and a fake guest: database-create/list/delete,
/// user-create/list/show, access, root-enable/show/disable, so the wire shapes are troveclient's own; and a hostile
/// name comes back as Trove's HTTP 400 message.
/// </summary>
[Collection(GuestApiCollection.Name)]
public sealed class TroveClientDatabasesTests(GuestApiFixture api)
{
    private Task<BufferedCommandResult> TroveAsync(params string[] command) =>
        CliWrap.Cli.Wrap("/usr/bin/trove")
            .WithArguments(["--os-auth-url", $"{api.BaseUrl}/v1.0", "--bypass-url", $"{api.BaseUrl}/v1.0/{api.ProjectA}",
                "--os-username", "alice", "--os-password", "alice's secret", "--os-project-name", api.ProjectA, .. command])
            .WithEnvironmentVariables(e => e.Set("OS_AUTH_URL", null).Set("OS_USERNAME", null).Set("OS_PASSWORD", null).Set("OS_CLOUD", null))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    // python3-troveclient prints table cells as b'...' (its Python 3 bug, not ours).
    private static string Unquoted(string output) => Regex.Replace(output, "b'([^']*)'", "$1");

    private static void Ok(BufferedCommandResult result) => result.ExitCode.Should().Be(0, result.StandardError + result.StandardOutput);

    [Fact]
    public async Task The_trove_client_manages_databases_and_users()
    {
        var (instance, guest) = await api.NewInstanceAsync();

        Ok(await TroveAsync("database-create", instance.Id, "app1", "--character_set", "utf8mb4"));
        var create = await guest!.WaitForAsync("create_database");
        ((string?)create.Arguments["databases"]![0]!["_character_set"]).Should().Be("utf8mb4");
        Ok(await TroveAsync("database-create", instance.Id, "app2"));
        var databases = await TroveAsync("database-list", instance.Id);
        Ok(databases);
        Unquoted(databases.StandardOutput).Should().MatchRegex(@"\|\s*app1\s*\|").And.MatchRegex(@"\|\s*app2\s*\|");

        Ok(await TroveAsync("user-create", instance.Id, "amy", "Amy-pw1", "--host", "10.0.0.%", "--databases", "app1", "app2"));
        var user = await guest.WaitForAsync("create_user");
        ((string?)user.Arguments["users"]![0]!["_host"]).Should().Be("10.0.0.%");
        var users = await TroveAsync("user-list", instance.Id);
        Ok(users);
        Unquoted(users.StandardOutput).Should().MatchRegex(@"\|\s*amy\s*\|\s*10\.0\.0\.%\s*\|\s*app1, app2\s*\|");

        // troveclient quotes "amy@10.0.0.%" and writes its dots as %2e.
        var shown = await TroveAsync("user-show", instance.Id, "amy", "--host", "10.0.0.%");
        Ok(shown);
        Unquoted(shown.StandardOutput).Should().MatchRegex(@"host\s*\|\s*10\.0\.0\.%");
        Ok(await TroveAsync("user-revoke-access", instance.Id, "amy", "app2", "--host", "10.0.0.%"));
        var access = await TroveAsync("user-show-access", instance.Id, "amy", "--host", "10.0.0.%");
        Ok(access);
        Unquoted(access.StandardOutput).Should().Contain("app1").And.NotContain("app2");

        Ok(await TroveAsync("database-delete", instance.Id, "app2"));
        (await guest.WaitForAsync("delete_database")).Arguments["database"]!["_name"]!.GetValue<string>().Should().Be("app2");
        Ok(await TroveAsync("user-delete", instance.Id, "amy", "--host", "10.0.0.%"));
        await guest.WaitForAsync("delete_user");

        var hostile = await TroveAsync("database-create", instance.Id, "x'; DROP DATABASE mysql; --");
        hostile.ExitCode.Should().NotBe(0);
        (hostile.StandardOutput + hostile.StandardError).Should().Contain("'x'; DROP DATABASE mysql; --' is not a valid schema name. (HTTP 400)");
        var reserved = await TroveAsync("user-create", instance.Id, "root", "pw1");
        reserved.ExitCode.Should().NotBe(0);
        (reserved.StandardOutput + reserved.StandardError).Should().Contain("User create error: User name \"root\" is on the reserved list");
        guest.Calls.Count(c => c.Method is "create_database" or "create_user").Should().Be(3, "the refused names never reached the guest");
    }

    [Fact]
    public async Task The_trove_client_enables_shows_and_disables_root()
    {
        var (instance, guest) = await api.NewInstanceAsync();
        var before = await TroveAsync("root-show", instance.Id);
        Ok(before);
        Unquoted(before.StandardOutput).Should().MatchRegex(@"is_root_enabled\s*\|\s*False");

        var enabled = await TroveAsync("root-enable", instance.Id, "--root_password", "Chosen-Pw9");
        Ok(enabled);
        Unquoted(enabled.StandardOutput).Should().MatchRegex(@"name\s*\|\s*root").And.MatchRegex(@"password\s*\|\s*Chosen-Pw9");
        guest!.Calls.Single().Method.Should().Be("enable_root_with_password");
        Unquoted((await TroveAsync("root-show", instance.Id)).StandardOutput).Should().MatchRegex(@"is_root_enabled\s*\|\s*True");

        Ok(await TroveAsync("root-disable", instance.Id));
        guest.Calls.Last().Method.Should().Be("disable_root");
    }
}
