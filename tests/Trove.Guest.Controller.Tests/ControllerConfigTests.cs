using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Controller.Configuration;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests;

/// <summary>
/// The configuration file: defaults, every key, clear errors (unknown key with its line, bad values), what start-up
/// applies (flavors, the first administrator with a password from the environment), and the real executable started
/// with it, driven by the real trove client.
/// </summary>
public sealed class ControllerConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, $"controller-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void No_file_means_a_single_machine_controller_on_sqlite()
    {
        var config = ConfigLoader.Load(null);
        config.Api.Listen.Should().Be("http://127.0.0.1:8779");
        config.Api.TokenLifetimeSeconds.Should().Be(3600);
        config.State.Provider.Should().Be("sqlite");
        config.Bootstrap.Should().BeNull();
        ConfigLoader.Database(config).Provider.Should().Be(StateProvider.Sqlite);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var config = ConfigLoader.Load(Write("""
            api:
              listen: http://127.0.0.1:9001
              token_lifetime_seconds: 600
            state:
              provider: sqlite
              path: /tmp/x.sqlite
            bootstrap:
              project: ops
              user: root
              password_env: OPS_PASSWORD
            flavors:
              - {id: "1", name: m1.small, ram: 2048, vcpus: 1, disk: 20}
              - {id: db.large, name: db.large, ram: 8192, vcpus: 4, disk: 40}
            """));
        config.Api.Listen.Should().Be("http://127.0.0.1:9001");
        config.Api.TokenLifetimeSeconds.Should().Be(600);
        config.State.Path.Should().Be("/tmp/x.sqlite");
        config.Bootstrap!.Project.Should().Be("ops");
        config.Bootstrap.PasswordEnv.Should().Be("OPS_PASSWORD");
        config.Flavors.Select(f => (f.Id, f.Ram, f.Vcpus, f.Disk)).Should().Equal(("1", 2048, 1, 20), ("db.large", 8192, 4, 40));
    }

    [Theory]
    [InlineData("api:\n  lisen: http://x\n", "line 2", "lisen")]
    [InlineData("state:\n  provider: mysql\n", "state.provider must be sqlite or postgres", "'mysql'")]
    [InlineData("state:\n  provider: postgres\n", "state.connection is required for postgres", "")]
    [InlineData("flavors:\n  - {id: a, name: x, ram: 1, disk: 1}\n  - {id: a, name: y, ram: 1, disk: 1}\n", "flavor id 'a' is given twice", "")]
    [InlineData("flavors:\n  - {id: a, name: x, ram: 0, disk: 1}\n", "flavor 'x' needs", "ram > 0")]
    [InlineData("api:\n  token_lifetime_seconds: 0\n", "api.token_lifetime_seconds must be positive", "")]
    public void A_bad_file_is_refused_with_what_is_wrong(string yaml, string expected, string also)
    {
        var path = Write(yaml);
        var act = () => ConfigLoader.Load(path);
        var message = act.Should().Throw<ConfigException>().Which.Message;
        message.Should().Contain(path).And.Contain(expected);
        if (also.Length > 0) message.Should().Contain(also);
    }

    [Fact]
    public async Task Start_up_applies_the_flavors_and_bootstraps_the_administrator_once()
    {
        var variable = "TGC_TEST_PASSWORD_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var config = ConfigLoader.Load(Write($$"""
            state: {path: {{Path.Combine(_dir, "state.sqlite")}}}
            bootstrap: {project: ops, user: root, password_env: {{variable}}}
            flavors: [{id: "1", name: m1.small, ram: 2048, vcpus: 1, disk: 20}]
            """));
        var database = ConfigLoader.Database(config);
        var act = () => ControllerStartup.PrepareAsync(config, database, CancellationToken.None);
        (await act.Should().ThrowAsync<ConfigException>()).Which.Message.Should().Contain(variable).And.Contain("not set");

        Environment.SetEnvironmentVariable(variable, "first password");
        try
        {
            await ControllerStartup.PrepareAsync(config, database, CancellationToken.None);
            config.Flavors[0].Ram = 4096;
            Environment.SetEnvironmentVariable(variable, "second password");
            await ControllerStartup.PrepareAsync(config, database, CancellationToken.None);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
        (await new FlavorStore(database).ListAsync(CancellationToken.None)).Should().ContainSingle().Which.RamMb.Should().Be(4096, "a changed flavor is updated");
        var identity = new IdentityStore(database);
        (await identity.LoginAsync("root", "first password", "ops", TimeSpan.FromMinutes(1), CancellationToken.None)).Should().NotBeNull();
        (await identity.LoginAsync("root", "second password", "ops", TimeSpan.FromMinutes(1), CancellationToken.None)).Should()
            .BeNull("an existing administrator's password is not reset by a restart");
    }

    /// <summary>
    /// The executable with a configuration but no broker URL in its environment stops at once with a message naming the
    /// variable (the broker's password never goes in the file). The executable serving the trove client from its
    /// configuration, with a broker, is what the end-to-end tests run (EndToEnd/ControllerProcess).
    /// </summary>
    [Fact]
    public async Task The_executable_without_a_broker_url_says_which_variable_to_set()
    {
        var config = Write($$"""
            api: {listen: "http://127.0.0.1:{{FreePorts.Find()}}"}
            state: {path: {{Path.Combine(_dir, "exe.sqlite")}}}
            messaging: {transport_url_env: TGC_NO_SUCH_URL}
            bootstrap: {project: ops, user: root, password_env: TGC_ADMIN_PASSWORD}
            """);
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "trove-guest-controller.dll"), "--config", config])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment["TGC_ADMIN_PASSWORD"] = "root's secret";
        start.Environment.Remove("TGC_NO_SUCH_URL");
        using var controller = Process.Start(start)!;
        var stderr = await controller.StandardError.ReadToEndAsync();
        await controller.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        controller.ExitCode.Should().Be(1);
        stderr.Should().Contain("messaging.transport_url_env names TGC_NO_SUCH_URL, which is not set");
        // It got as far as its state: migrated, with the administrator from the environment.
        var identity = new IdentityStore(StateDatabase.Sqlite(Path.Combine(_dir, "exe.sqlite")));
        (await identity.LoginAsync("root", "root's secret", "ops", TimeSpan.FromMinutes(1), CancellationToken.None)).Should().NotBeNull();
    }
}
