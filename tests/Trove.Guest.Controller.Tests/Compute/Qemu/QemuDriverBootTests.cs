using FluentAssertions;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// Our mariadb image under the qemu driver, without a controller: a real RabbitMQ on the host's loopback, the VM on
/// user-mode networking confined to it. The image is built once per run (<see cref="GuestImages"/>).
/// </summary>
public sealed class QemuDriverFixture : IAsyncLifetime
{
    public RabbitMqBroker Broker { get; private set; } = null!;
    public QemuComputeDriver Driver { get; private set; } = null!;
    public string Root { get; } = Path.Combine("/tmp", "tgq-" + Guid.NewGuid().ToString("N")[..6]);
    public LocalImage UefiImage { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Broker = await RabbitMqBroker.StartAsync();
        var image = await GuestImages.GetAsync("mariadb");
        var registry = new LocalImageRegistry(Path.Combine(Root, "images"));
        UefiImage = await registry.RegisterAsync(image.File, "mariadb-uefi", "mariadb", "10.11", CancellationToken.None,
            new Dictionary<string, string> { ["hw_firmware_type"] = "uefi" });
        Driver = new QemuComputeDriver(new QemuComputeOptions
        {
            Root = Root, Images = registry, HostServices = [$"127.0.0.1:{Broker.Port}"], ReportInterval = TimeSpan.FromSeconds(5),
        }, Microsoft.Extensions.Logging.Abstractions.NullLogger<QemuComputeDriver>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dir in Directory.Exists(Root) ? Directory.GetDirectories(Root) : [])
        {
            var layout = new QemuServerLayout(dir);
            if (File.Exists(layout.AccessFile))
                await Driver.DeleteAsync(new ServerInfo(QemuComputeDriver.DriverName, Path.GetFileName(dir), dir, null, null, "", "", 0, "", 0, 0), CancellationToken.None);
        }
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        await Broker.DisposeAsync();
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuDriverBootTests(QemuDriverFixture fixture) : IClassFixture<QemuDriverFixture>
{
    [Fact]
    public async Task A_UEFI_guest_boots_its_agent_under_systemd_pins_its_host_key_grows_its_volume_live_and_leaves_nothing()
    {
        var id = Guid.NewGuid().ToString();
        var server = await fixture.Driver.CreateAsync(new ServerRequest(id, "mariadb", "10.11", 1024, 1, 1, null, fixture.Broker.Url, "trove", "trove-conductor",
            ImageId: fixture.UefiImage.Id), CancellationToken.None);
        var layout = new QemuServerLayout(server.Directory);
        server.DevicePath.Should().Be("/dev/vdb");
        (await fixture.Driver.IsRunningAsync(server, CancellationToken.None)).Should().BeTrue();
        File.ReadAllText(layout.MachineFile).Should().Contain("uefi", "the image's hw_firmware_type chose OVMF");
        Convert.ToString((int)File.GetUnixFileMode(layout.ConfigDrive), 8).Should().Be("600", "the config drive holds the broker's password");

        // The host keys come from the console (first boot), never from the network.
        await QemuComputeDriver.WaitForHostKeysAsync(layout, TimeSpan.FromMinutes(8), CancellationToken.None);
        var console = File.ReadAllText(layout.ConsoleLog);
        QemuGuestAccess.Read(layout.AccessFile).HostKeys.Should().ContainSingle().Which.Should().StartWith("ssh-ed25519 ", console[^Math.Min(console.Length, 4000)..]);
        console.Should().Contain("EFI", "OVMF booted it");

        var shell = GuestShell.For(fixture.Root, layout);
        var connectBy = DateTimeOffset.UtcNow.AddMinutes(3);
        var agent = await shell.RunAsync(
            "for i in $(seq 120); do systemctl is-active --quiet trove-guest-agent && break; sleep 1; done; systemctl is-active trove-guest-agent; "
            + "journalctl -u trove-guest-agent -b --no-pager -o cat | grep -m1 'RPC server listening'; systemctl show -p MemoryMax -p WatchdogUSec -p Type trove-guest-agent; "
            + "cat /etc/trove/conf.d/guest_info.conf; stat -c %a /etc/trove/conf.d/trove-guestagent.conf",
            connectBy, CancellationToken.None);
        agent.StandardOutput.Should().StartWith("active\n", agent.StandardError)
            .And.Contain($"guestagent.{id}", "the agent consumes its topic on the host's broker through guestfwd")
            .And.Contain("Type=notify").And.Contain("WatchdogUSec=1min").And.Contain("MemoryMax=536870912")
            .And.Contain($"guest_id = {id}").And.EndWith("600\n");

        // The guest reaches nothing but the broker: no other host port, no outside address.
        var network = await shell.RunAsync("timeout 5 bash -c 'echo > /dev/tcp/10.0.2.2/22' && echo host-open || echo host-closed; "
            + "timeout 5 bash -c 'echo > /dev/tcp/1.1.1.1/80' && echo out-open || echo out-closed", connectBy, CancellationToken.None);
        network.StandardOutput.Should().Be("host-closed\nout-closed\n");

        server = await fixture.Driver.ResizeVolumeAsync(server, 2, CancellationToken.None);
        (await shell.RunAsync("blockdev --getsize64 /dev/vdb", connectBy, CancellationToken.None)).StandardOutput.Trim().Should().Be((2L << 30).ToString());

        await fixture.Driver.DeleteAsync(server, CancellationToken.None);
        Directory.Exists(layout.Directory).Should().BeFalse();
        (await fixture.Driver.IsRunningAsync(server, CancellationToken.None)).Should().BeFalse();
    }
}
