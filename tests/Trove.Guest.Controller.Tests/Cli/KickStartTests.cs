using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.Cli;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>
/// A controller configuration on the process compute driver (no image to build or register), a private RabbitMQ, and
/// nothing running: what <c>trove-guest kick-start</c> starts from. The secrets reach kick-start (and through it the
/// controller it starts) by the CLI's environment function only; the test process's environment is not changed.
/// Disposing kills the controller kick-start started (by the PID it recorded) and deletes every server it made.
/// </summary>
public sealed class KickStartFixture : IAsyncLifetime
{
    public const string AdminPassword = "k1ck-start-pa55";
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-kick-").FullName;

    // Short: the engine's socket path lives under it.
    private readonly string _computeRoot = Path.Combine("/tmp", "tgk-" + Guid.NewGuid().ToString("N")[..6]);

    public RabbitMqBroker Broker { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public string ConfigPath => Path.Combine(_dir, "controller.yaml");
    public string StateDir => Path.Combine(_dir, "state");
    public StateDatabase Database => StateDatabase.Sqlite(Path.Combine(StateDir, "state.sqlite"));

    public static string Agent => Path.Combine(RepoPaths.Root, "agent", "Trove.Guest.Agent", "bin", "Debug", "net10.0", "trove-guest-agent");

    /// <summary>kick-start's environment: what the configuration names, and nothing of the OS_* kind (it logs in as the bootstrap user).</summary>
    public Dictionary<string, string> Environment => new()
    {
        ["TROVE_TRANSPORT_URL"] = Broker.Url, ["TROVE_GUEST_ADMIN_PASSWORD"] = AdminPassword,
    };

    /// <summary>The API as troveclient's users reach it, for checks with other verbs.</summary>
    public Dictionary<string, string> ApiUser => new()
    {
        ["OS_AUTH_URL"] = $"{BaseUrl}/v1.0", ["OS_USERNAME"] = "admin", ["OS_PASSWORD"] = AdminPassword, ["OS_PROJECT_NAME"] = "seed",
    };

    public string ControllerLog => File.Exists(Path.Combine(StateDir, "controller.log")) ? File.ReadAllText(Path.Combine(StateDir, "controller.log")) : "(no controller.log)";

    public async ValueTask InitializeAsync()
    {
        Broker = await RabbitMqBroker.StartAsync();
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        // No datastores: kick-start registers the one it is asked for.
        await File.WriteAllTextAsync(ConfigPath, $"""
            api:
              listen: {BaseUrl}
            state:
              path: {Path.Combine(StateDir, "state.sqlite")}
            bootstrap:
              project: seed
              user: admin
              password_env: TROVE_GUEST_ADMIN_PASSWORD
            flavors:
              - {"{"} id: "7", name: db.kick, ram: 512, vcpus: 1, disk: 0 {"}"}
            compute:
              driver: process
              agent_command: {Agent}
              root: {_computeRoot}
              templates_dir: {Path.Combine(RepoPaths.Root, "templates")}
            worker:
              lease_seconds: 5
            guest:
              usage_timeout_seconds: 300
              heartbeat_expiry_seconds: 20
            """);
    }

    public async ValueTask DisposeAsync()
    {
        await KillControllerAsync();
        var driver = new ProcessComputeDriver(new ProcessComputeOptions { AgentCommand = Agent, Root = _computeRoot, TemplatesDir = "" },
            NullLogger<ProcessComputeDriver>.Instance);
        try
        {
            if (File.Exists(Path.Combine(StateDir, "state.sqlite")))
            {
                foreach (var json in await new Trove.Guest.State.Instances.InstanceStore(Database).ServersAsync(CancellationToken.None))
                    await driver.DeleteAsync(ServerInfoJson.Deserialize(json), CancellationToken.None);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"cleaning up the servers failed: {e.Message}");
        }
        await Broker.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
            if (Directory.Exists(_computeRoot)) Directory.Delete(_computeRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>SIGKILL to the PID kick-start recorded, when that process still is our controller (its command line names our configuration).</summary>
    private async Task KillControllerAsync()
    {
        var pidFile = Path.Combine(StateDir, "controller.pid");
        if (!File.Exists(pidFile)) return;
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        if (!IsOurController(pid)) return;
        using (var controller = System.Diagnostics.Process.GetProcessById(pid)) controller.Kill();
        // Process's own wait does not know a zombie it did not start (kick-start's Process object is gone); a dead one,
        // zombie or reaped, has no command line left.
        for (var i = 0; i < 100 && IsOurController(pid); i++) await Task.Delay(100);
    }

    private bool IsOurController(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(ConfigPath);
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>
/// <c>trove-guest kick-start</c> end to end, in process, on the process compute driver: it registers the datastore version
/// in the state database, starts the real controller detached, creates an instance through the API and waits until it
/// is ACTIVE and HEALTHY, each step printed with its time; a second run reuses the running controller and updates the
/// version in place.
/// </summary>
public sealed class KickStartTests(KickStartFixture fixture) : IClassFixture<KickStartFixture>
{
    private static readonly string[] Steps = ["build image", "register image", "register datastore", "start controller", "create instance", "wait healthy"];

    private string Context(CliRun run) => $"{run}\n--- controller.log\n{fixture.ControllerLog}";

    [Fact]
    public async Task Kick_start_sets_up_the_datastore_and_controller_and_a_healthy_instance_and_a_second_run_reuses_them()
    {
        var first = await CliRun.RunAsync(fixture.Environment, "kick-start", "mariadb", "--config", fixture.ConfigPath, "--timeout", "600");

        first.Code.Should().Be(ExitCodes.Ok, Context(first));
        var lines = first.Out.Split('\n');
        lines.Should().Contain(l => Regex.IsMatch(l, @"^  build image +skipped  the process compute driver runs no image$"));
        lines.Should().Contain(l => Regex.IsMatch(l, @"^  register image +skipped  the process compute driver runs no image$"));
        lines.Should().Contain(l => Regex.IsMatch(l, @"^  register datastore +\d+\.\d s  mariadb 10\.11, manager mariadb, the default$"));
        var started = lines.Select(l => Regex.Match(l, @"^  start controller +\d+\.\d s  started \(pid (\d+)\), log (.+)$")).Single(m => m.Success);
        var created = lines.Select(l => Regex.Match(l, @"^  create instance +\d+\.\d s  instance kick-start-mariadb \(([0-9a-f-]{36})\)$")).Single(m => m.Success);
        lines.Should().Contain(l => Regex.IsMatch(l, @"^  wait healthy +\d+\.\d s$"));
        lines.Should().Contain(l => Regex.IsMatch(l, @"^  total +\d+\.\d s$"));
        var id = created.Groups[1].Value;
        first.Out.Should().Contain($"instance {id} (kick-start-mariadb) is ACTIVE and HEALTHY").And.NotContain("trove-guest ssh", "only qemu guests are reached by ssh");
        first.Err.Should().Contain($"instance kick-start-mariadb ({id}): ACTIVE/HEALTHY", "the wait's progress goes to stderr");
        (first.Out + first.Err).Should().NotContain(KickStartFixture.AdminPassword);
        started.Groups[2].Value.Should().Be(Path.Combine(fixture.StateDir, "controller.log"));
        File.ReadAllText(Path.Combine(fixture.StateDir, "controller.pid")).Trim().Should().Be(started.Groups[1].Value);

        await ShouldBeHealthyAsync(id, "kick-start-mariadb");
        var version = await SingleMariaDbVersionAsync();

        // Retired behind the running controller's back: only a controller that reads the catalog from its database on
        // every request, and an upsert that makes the version active again, let the second create through.
        await using (var connection = await fixture.Database.OpenAsync(CancellationToken.None))
        await using (var retire = connection.CreateCommand())
        {
            retire.CommandText = "UPDATE datastore_versions SET active = 0";
            (await retire.ExecuteNonQueryAsync()).Should().Be(1);
        }
        (await CliRun.RunAsync(fixture.ApiUser, "datastore-version-list", "mariadb", "--json")).Out.Trim().Should().Be("[]", "the controller sees it retired");

        // Again, with --json: the controller answers, so it is used as it is; the version is updated, not added again.
        var second = await CliRun.RunAsync(fixture.Environment, "kick-start", "mariadb", "--config", fixture.ConfigPath, "--name", "kick-start-again", "--json",
            "--timeout", "600");

        second.Code.Should().Be(ExitCodes.Ok, Context(second));
        var result = JsonNode.Parse(second.Out)!.AsObject();
        result["controller"]!["already_running"]!.GetValue<bool>().Should().BeTrue();
        result["controller"]!["pid"].Should().BeNull();
        second.Err.Should().MatchRegex($@"  start controller +\d+\.\d s  already running at {Regex.Escape(fixture.BaseUrl)}/v1\.0",
            "with --json the step lines go to stderr");
        var steps = result["steps"]!.AsArray().Select(s => s!.AsObject()).ToList();
        steps.Select(s => s["name"]!.GetValue<string>()).Should().Equal(Steps);
        steps.Take(2).Should().OnlyContain(s => s["skipped"] != null && s["seconds"] == null);
        steps.Skip(2).Should().OnlyContain(s => s["seconds"]!.GetValue<double>() >= 0 && s["skipped"] == null);
        result["total_seconds"]!.GetValue<double>().Should().BeGreaterThan(steps[5]["seconds"]!.GetValue<double>());
        result["datastore_version_id"]!.GetValue<string>().Should().Be(version.Id);
        var secondId = result["instance_id"]!.GetValue<string>();
        secondId.Should().NotBe(id);
        (await SingleMariaDbVersionAsync()).Id.Should().Be(version.Id, "the version is upserted, not duplicated");
        await ShouldBeHealthyAsync(secondId, "kick-start-again");
    }

    private async Task ShouldBeHealthyAsync(string id, string name)
    {
        var show = await CliRun.RunAsync(fixture.ApiUser, "show", id, "--json");
        show.Code.Should().Be(ExitCodes.Ok, show.ToString());
        var instance = JsonNode.Parse(show.Out)!.AsObject();
        (instance["name"]!.GetValue<string>(), instance["status"]!.GetValue<string>(), instance["operating_status"]!.GetValue<string>())
            .Should().Be((name, "ACTIVE", "HEALTHY"));
        (instance["datastore"]!["type"]!.GetValue<string>(), instance["datastore"]!["version"]!.GetValue<string>()).Should().Be(("mariadb", "10.11"));
        instance["flavor"]!["id"]!.GetValue<string>().Should().Be("7", "the configuration's first flavor is the default");
    }

    private async Task<DatastoreVersion> SingleMariaDbVersionAsync()
    {
        var datastore = (await new DatastoreStore(fixture.Database).FindAsync("mariadb", CancellationToken.None))!;
        datastore.Should().NotBeNull();
        var version = datastore.Versions.Should().ContainSingle().Subject;
        (version.Name, version.Version, version.Manager, version.ImageId, version.Active).Should().Be(("10.11", "10.11", "mariadb", (string?)null, true));
        datastore.DefaultVersionId.Should().Be(version.Id);
        return version;
    }
}

/// <summary>kick-start's refusals, before anything is built, registered or started.</summary>
public sealed class KickStartRefusalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-kick-refused-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> ConfigAsync(string compute)
    {
        var path = Path.Combine(_dir, "controller.yaml");
        await File.WriteAllTextAsync(path, $"""
            api:
              listen: http://127.0.0.1:{FreePorts.Find()}
            state:
              path: {Path.Combine(_dir, "state", "state.sqlite")}
            flavors:
              - {"{"} id: "1", name: db.small, ram: 512, vcpus: 1, disk: 0 {"}"}
            {compute}
            """);
        return path;
    }

    [Fact]
    public async Task An_unknown_datastore_or_a_missing_configuration_is_a_usage_error()
    {
        var config = await ConfigAsync("compute: {driver: process}");

        var oracle = await CliRun.RunAsync(new Dictionary<string, string>(), "kick-start", "oracle", "--config", config);
        oracle.Should().Be(new CliRun(ExitCodes.Usage, "", "trove-guest: kick-start needs a DATASTORE, one of mariadb, mysql, postgresql, redis (not 'oracle')\n"));

        var missing = await CliRun.RunAsync(new Dictionary<string, string>(), "kick-start", "redis", "--config", Path.Combine(_dir, "nope.yaml"));
        missing.Code.Should().Be(ExitCodes.Usage, missing.ToString());
        missing.Err.Should().Contain("nope.yaml not found");

        var image = Path.Combine(_dir, "guest.qcow2");
        await File.WriteAllTextAsync(image, "not really an image");
        var imageOnProcess = await CliRun.RunAsync(new Dictionary<string, string>(), "kick-start", "mariadb", "--config", config, "--image", image);
        imageOnProcess.Code.Should().Be(ExitCodes.Usage, imageOnProcess.ToString());
        imageOnProcess.Err.Should().Contain("--image is for the qemu compute driver");
        Directory.Exists(Path.Combine(_dir, "state")).Should().BeFalse("nothing was registered");
    }

    [Fact]
    public async Task A_qemu_configuration_without_the_published_agent_fails_at_build_image_with_the_publish_command()
    {
        var images = Path.Combine(_dir, "images");
        var config = await ConfigAsync($"compute: {{driver: qemu, root: {Path.Combine(_dir, "qemu")}, images_dir: {images}}}");
        var agent = Path.Combine(_dir, "no-such", "trove-guest-agent");
        var before = System.Environment.GetEnvironmentVariable("DIB_TROVE_GUEST_AGENT");

        var run = await CliRun.RunAsync(new Dictionary<string, string> { ["DIB_TROVE_GUEST_AGENT"] = agent }, "kick-start", "postgresql", "--config", config);

        run.Code.Should().Be(ExitCodes.ApiRefused, run.ToString());
        run.Out.Should().StartWith("kick-start postgresql 15 on the qemu compute driver").And.NotContain("register", "it stopped at the first step");
        run.Err.Should().Contain($"the guest agent binary {agent} does not exist")
            .And.Contain("dotnet publish agent/Trove.Guest.Agent -c Release -r linux-x64 -p:PublishAot=true -o artifacts/agent")
            .And.MatchRegex(@"kick-start stopped at 'build image' after \d+\.\d s");
        Directory.Exists(images).Should().BeFalse("no build was started");
        Directory.Exists(Path.Combine(_dir, "state")).Should().BeFalse("nothing was registered");
        System.Environment.GetEnvironmentVariable("DIB_TROVE_GUEST_AGENT").Should().Be(before, "the process environment is left as it was");
    }
}
