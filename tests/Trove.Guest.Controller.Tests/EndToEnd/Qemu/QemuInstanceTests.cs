using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.EndToEnd.Qemu;

/// <summary>
/// The real controller with the qemu driver: our mariadb image (built once per run) registered in the embedded image
/// registry, each instance a VM under TCG whose agent systemd starts on boot, on a private RabbitMQ and Swift that the
/// guests reach only through guestfwd rules.
/// </summary>
public sealed class QemuControllerFixture : IAsyncLifetime
{
    private readonly string _images = Path.Combine("/tmp", "tgqi-" + Guid.NewGuid().ToString("N")[..6]);

    public ControllerProcess Controller { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var built = await GuestImages.GetAsync("mariadb");
        var image = await new LocalImageRegistry(_images).RegisterAsync(built.File, "mariadb-10.11", "mariadb", "10.11", CancellationToken.None);
        Controller = ControllerProcess.WithCompute(new ControllerProcess.ComputeSetup($$"""
            compute:
              driver: qemu
              root: {root}
              images_dir: {{_images}}
              firmware: bios
              report_interval_seconds: 5
              templates_dir: {{Path.Combine(RepoPaths.Root, "templates")}}
            """, $$"""
                  - { name: "10.11", manager: mariadb, image: {{image.Id}} }
            """,
            root => new QemuComputeDriver(new QemuComputeOptions { Root = root, Images = new LocalImageRegistry(_images) }, NullLogger<QemuComputeDriver>.Instance),
            new Dictionary<string, string> { ["usage_timeout_seconds"] = "900", ["heartbeat_expiry_seconds"] = "60" }));
        await Controller.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Controller is not null) await Controller.DisposeAsync();
        if (Directory.Exists(_images)) Directory.Delete(_images, recursive: true);
    }
}

public sealed partial class QemuInstanceTests(QemuControllerFixture fixture) : IClassFixture<QemuControllerFixture>
{
    private ControllerProcess Controller => fixture.Controller;

    [GeneratedRegex(@"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|")]
    private static partial Regex IdRow();

    private async Task<string> TroveAsync(params string[] command)
    {
        var result = await Controller.TroveAsync(command);
        result.ExitCode.Should().Be(0, $"trove {string.Join(' ', command)} failed: {result.StandardError}\n{Controller.Log}");
        return ControllerProcess.Unquoted(result.StandardOutput);
    }

    private static string IdOf(string output) => IdRow().Match(output) is { Success: true } m ? m.Groups[1].Value
        : throw new InvalidOperationException($"no id in:\n{output}");

    private async Task<(QemuServerLayout Layout, int EnginePort)> ServerOf(string id)
    {
        var server = await Controller.ServerAsync(id) ?? throw new InvalidOperationException($"{id} has no server");
        server.Driver.Should().Be("qemu");
        return (new QemuServerLayout(server.Directory), server.EnginePort);
    }

    /// <summary>Runs <paramref name="wait"/>; when it fails, adds the guest's side of the story (its agent's and engine's journal) to the failure.</summary>
    private async Task<T> WithGuestJournalAsync<T>(string id, Func<Task<T>> wait)
    {
        try
        {
            return await wait();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            var (layout, _) = await ServerOf(id);
            QemuComputeDriver.PinHostKeys(layout);
            var journal = await GuestShell.For(Controller.ComputeRoot, layout).RunAsync(
                "journalctl -u trove-guest-agent -u mariadb -b --no-pager -o cat | tail -n 60", DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None);
            throw new InvalidOperationException($"{e.Message}\n--- the guest's journal ---\n{journal.StandardOutput}", e);
        }
    }

    [Fact]
    public async Task A_VM_instance_boots_its_agent_with_systemd_serves_its_users_and_backs_up_to_Swift_for_a_restore_into_a_second_VM()
    {
        var a = IdOf(await TroveAsync("create", "vm-a", "2", "--size", "1", "--databases", "shop", "--users", "app:Str0ng_pass",
            "--datastore", "mariadb", "--datastore_version", "10.11"));
        await Controller.WaitForInstanceAsync(a, seconds: 900);
        var (layout, port) = await ServerOf(a);

        // The agent and the engine are systemd's units in the guest; the controller's key reaches it, its host key pinned
        // from the console (which can come just after the instance is healthy).
        (await QemuComputeDriver.WaitForHostKeysAsync(layout, TimeSpan.FromMinutes(3), CancellationToken.None)).Should().BeTrue();
        var shell = GuestShell.For(Controller.ComputeRoot, layout);
        // The engine is enabled (for the next boot) once its start job is done, which may be just after prepare; the seed
        // holds no grant naming its build host, which the server would warn about at every start and connection. The agent
        // starts before the guest's DHCP lease and waits for its route to the broker: its first connection attempt succeeds.
        var units = await shell.RunAsync("systemctl is-active trove-guest-agent mariadb; findmnt -n -o SOURCE /var/lib/mysql; "
            + "for i in $(seq 60); do systemctl is-enabled --quiet mariadb && break; sleep 1; done; systemctl is-enabled mariadb; "
            + "journalctl -b -u mariadb -o cat | grep -c proxies_priv; journalctl -b -u trove-guest-agent -o cat | grep -c 'AMQP server on .* is unreachable'",
            DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
        units.StandardOutput.Should().Be("active\nactive\n/dev/vdb\nenabled\n0\n0\n", units.StandardError);
        // The datadir came from the image's seed, whose upgrade marker says its system tables are current: the engine's own
        // check agrees (it says so, and exits 1: no upgrade needed), and debian-start ran no upgrade of its own (which
        // rewrites the marker).
        const string Seed = "/usr/lib/trove-guest/seed/mariadb/mysql_upgrade_info", Data = "/var/lib/mysql/data/mysql_upgrade_info";
        var upgrade = await shell.RunAsync($"mariadb-upgrade --check-if-upgrade-is-needed 2>&1; echo rc=$?; cmp {Seed} {Data} && stat -c %Y {Seed} {Data} | uniq | wc -l",
            DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
        upgrade.StandardOutput.Should().Contain("is already upgraded to").And.EndWith("rc=1\n1\n", upgrade.StandardError);

        // The user trove create made connects through the forwarded port, as a client of the cloud would.
        await MariaDbShell.RunOverTcpAsync("127.0.0.1", port, "app", "Str0ng_pass",
            "CREATE TABLE shop.items (id INT PRIMARY KEY, v TEXT); INSERT INTO shop.items VALUES (1, 'in a VM'), (2, 'backed up');");
        (await MariaDbShell.RunOverTcpAsync("127.0.0.1", port, "app", "Str0ng_pass", "SELECT COUNT(*) FROM shop.items")).Should().Be("2");
        var refused = () => MariaDbShell.RunOverTcpAsync("127.0.0.1", port, "app", "wrong", "SELECT 1");
        await refused.Should().ThrowAsync<InvalidOperationException>().WithMessage("*Access denied*");

        // A backup streams from the guest to Swift (through its guestfwd), and a second VM restores it.
        var backup = IdOf(await TroveAsync("backup-create", a, "vm-nightly"));
        var completed = await WithGuestJournalAsync(a, () => Controller.WaitForBackupAsync(backup, seconds: 600));
        completed["locationRef"]!.GetValue<string>().Should().Contain("/v1/AUTH_test/");
        var b = IdOf(await TroveAsync("create", "vm-b", "2", "--size", "1", "--backup", backup));
        await WithGuestJournalAsync(b, () => Controller.WaitForInstanceAsync(b, seconds: 900));
        var (_, portB) = await ServerOf(b);
        (await MariaDbShell.RunOverTcpAsync("127.0.0.1", portB, "app", "Str0ng_pass", "SELECT v FROM shop.items ORDER BY id")).Should().Be("in a VM\nbacked up");

        // Deleting the backup reaches Swift from the controller's side (the guest's address for the store is mapped back).
        await TroveAsync("backup-delete", backup);
        foreach (var id in new[] { a, b })
        {
            await TroveAsync("delete", id);
        }
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline && Directory.Exists(layout.Directory)) await Task.Delay(500);
        Directory.Exists(layout.Directory).Should().BeFalse("the VM and its disks are gone");
    }
}
