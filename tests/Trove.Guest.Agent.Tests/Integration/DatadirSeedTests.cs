using System.Text.Json.Nodes;
using CliWrap;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// <c>engine_datadir_seed</c>: a datadir made by the real <c>mariadb-install-db</c> with the mariadb element's options
/// (a 4 MiB redo log) stands for the image's seed. A folder in it shows as a database, which tells whether prepare
/// copied the seed or initialised a datadir of its own.
/// </summary>
public sealed class DatadirSeedTests(BrokerFixture broker) : IDisposable
{
    private const string Marker = "from_the_seed";
    private readonly List<string> _scratch = [];

    public void Dispose()
    {
        foreach (var folder in _scratch) Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Prepare_copies_the_seed_into_an_empty_datadir_and_the_server_resizes_its_redo_log()
    {
        var seed = await SeedAsync();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, configure: o => o with { Guest = o.Guest with { EngineDatadirSeed = seed } });

        await agent.PrepareAsync(new JsonObject { ["databases"] = new JsonArray(new JsonObject { ["_name"] = "shop" }) });

        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        agent.LogText.Should().Contain("from the image's seed");
        (await agent.SqlAsync("SHOW DATABASES")).Should().Contain(Marker).And.Contain("shop");
        // The seed's 4 MiB redo log, resized at the first start to the rendered my.cnf's 16M.
        (await agent.SqlAsync("SELECT @@innodb_log_file_size")).Trim().Should().Be((16 * 1024 * 1024).ToString());
        new FileInfo(Path.Combine(agent.Options.Datastore.MountPoint, "data", "ib_logfile0")).Length.Should().Be(16 * 1024 * 1024);
        Directory.Exists(Path.Combine(seed, Marker)).Should().BeTrue("the seed is copied, not moved");
    }

    [Fact]
    public async Task A_configuration_that_sets_an_option_fixed_at_initialisation_gets_a_datadir_of_its_own()
    {
        var seed = await SeedAsync();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, configure: o => o with { Guest = o.Guest with { EngineDatadirSeed = seed } });

        await agent.PrepareAsync(new JsonObject { ["overrides"] = new JsonObject { ["lower_case_table_names"] = 1 } });

        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        agent.LogText.Should().Contain("Not using the image's seed").And.Contain("lower_case_table_names");
        (await agent.SqlAsync("SHOW DATABASES")).Should().NotContain(Marker);
        (await agent.SqlAsync("SELECT @@lower_case_table_names")).Trim().Should().Be("1");
    }

    [Fact]
    public async Task Secure_removes_the_anonymous_and_remote_root_accounts_a_datadir_comes_with()
    {
        // A seed made without --skip-test-db has anonymous accounts; one with root@'%' stands for a datadir that
        // another tool initialised. Prepare's secure step leaves neither.
        var seed = await SeedAsync(testDb: true);
        await CliWrap.Cli.Wrap("mariadbd").WithArguments(["--no-defaults", "--bootstrap", $"--datadir={seed}", "--user=root", "--skip-networking", "--log-warnings=0"])
            .WithStandardInputPipe(PipeSource.FromString("INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'root', '{\"access\":0}');\n"))
            .ExecuteAsync();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, configure: o => o with { Guest = o.Guest with { EngineDatadirSeed = seed } });

        await agent.PrepareAsync();

        agent.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        agent.LogText.Should().Contain("from the image's seed");
        var accounts = await agent.SqlAsync("SELECT CONCAT(User, '@', Host) FROM mysql.user ORDER BY 1");
        accounts.Should().Contain("os_admin@localhost").And.Contain("root@localhost");
        accounts.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().NotContain(a => a.StartsWith('@') || (a.StartsWith("root@") && a != "root@localhost"),
            "secure drops anonymous accounts and every root that is not local: {0}", accounts);
    }

    private async Task<string> SeedAsync(bool testDb = false)
    {
        var scratch = Directory.CreateTempSubdirectory("tga-seed-").FullName;
        _scratch.Add(scratch);
        var seed = Path.Combine(scratch, "mariadb");
        string[] options = ["--no-defaults", $"--datadir={seed}", "--user=root", "--auth-root-authentication-method=socket", "--skip-name-resolve", "--innodb-log-file-size=4M"];
        await CliWrap.Cli.Wrap("mariadb-install-db").WithArguments(testDb ? options : [.. options, "--skip-test-db"]).ExecuteAsync();
        Directory.CreateDirectory(Path.Combine(seed, Marker));
        return seed;
    }
}
