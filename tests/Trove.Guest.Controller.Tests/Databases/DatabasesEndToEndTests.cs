using FluentAssertions;
using Trove.Guest.Controller.Tests.EndToEnd;

namespace Trove.Guest.Controller.Tests.Databases;

/// <summary>
/// Databases, users and root through the real <c>trove</c> command, the real controller and a real agent with MariaDB
/// (the process compute driver): what the API accepted is in the server, and what it refused is not.
/// </summary>
public sealed class DatabasesEndToEndTests(ControllerProcess controller) : IClassFixture<ControllerProcess>
{
    private async Task<string> TroveAsync(params string[] command)
    {
        var result = await controller.TroveAsync(command);
        result.ExitCode.Should().Be(0, $"trove {string.Join(' ', command)} failed: {result.StandardError}\n{controller.Log}");
        return ControllerProcess.Unquoted(result.StandardOutput);
    }

    /// <summary>Casts end on the guest after the API answered 202: SQL until it gives the expected answer.</summary>
    private async Task EventuallyAsync(string instanceId, string sql, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            last = await controller.SqlAsync(instanceId, sql);
            if (last == expected) return;
            await Task.Delay(300);
        }
        last.Should().Be(expected, $"{sql} on {instanceId}\n{controller.Log}");
    }

    [Fact]
    public async Task Databases_users_and_root_reach_MariaDB_and_hostile_names_do_not()
    {
        var created = await TroveAsync("create", "dbs-e2e", "1", "--size", "1", "--datastore", "mariadb", "--datastore_version", "10.11");
        var id = System.Text.RegularExpressions.Regex.Match(created, @"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|").Groups[1].Value;
        await controller.WaitForInstanceAsync(id);

        await TroveAsync("database-create", id, "shop", "--character_set", "utf8mb4");
        await EventuallyAsync(id, "SELECT default_character_set_name FROM information_schema.schemata WHERE schema_name = 'shop'", "utf8mb4");
        await TroveAsync("user-create", id, "app", "Str0ng_pass", "--host", "10.0.0.%", "--databases", "shop");
        await EventuallyAsync(id, "SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user = 'app'", "app@10.0.0.%");
        (await controller.SqlAsync(id, "SHOW GRANTS FOR 'app'@'10.0.0.%'")).Should().Contain("ON `shop`.* TO `app`@`10.0.0.%`");

        (await TroveAsync("database-list", id)).Should().MatchRegex(@"\|\s*shop\s*\|").And.NotMatchRegex(@"\|\s*(mysql|sys)\s*\|");
        (await TroveAsync("user-list", id)).Should().MatchRegex(@"\|\s*app\s*\|\s*10\.0\.0\.%\s*\|\s*shop\s*\|").And.NotContain("os_admin");

        var hostile = await controller.TroveAsync("database-create", id, "x'; DROP DATABASE shop; --");
        hostile.ExitCode.Should().NotBe(0);
        (hostile.StandardOutput + hostile.StandardError).Should().Contain("is not a valid schema name. (HTTP 400)");
        var hostileUser = await controller.TroveAsync("user-create", id, "a' OR 1=1--", "pw1");
        hostileUser.ExitCode.Should().NotBe(0);
        (await controller.SqlAsync(id, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'shop'")).Should().Be("1");
        (await controller.SqlAsync(id, "SELECT COUNT(*) FROM mysql.user WHERE user LIKE '%OR 1=1%'")).Should().Be("0");

        var root = await TroveAsync("root-enable", id);
        root.Should().MatchRegex(@"name\s*\|\s*root");
        (await controller.SqlAsync(id, "SELECT host FROM mysql.user WHERE user = 'root' AND host = '%'")).Should().Be("%");
        (await TroveAsync("root-show", id)).Should().MatchRegex(@"is_root_enabled\s*\|\s*True");

        await TroveAsync("user-delete", id, "app", "--host", "10.0.0.%");
        await EventuallyAsync(id, "SELECT COUNT(*) FROM mysql.user WHERE user = 'app'", "0");
        await TroveAsync("database-delete", id, "shop");
        await EventuallyAsync(id, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'shop'", "0");
        await TroveAsync("delete", id);
    }
}
