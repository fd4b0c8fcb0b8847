using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>The qemu driver's parts that need no VM: address rewriting, the config drive (read back with mtools), the image registry.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuDriverPartsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgq-parts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private QemuComputeDriver Driver(params string[] services) =>
        new(new QemuComputeOptions { Root = _dir, Images = new LocalImageRegistry(Path.Combine(_dir, "images")), HostServices = services },
            NullLogger<QemuComputeDriver>.Instance);

    [Fact]
    public void Loopback_services_move_to_their_guestfwd_addresses_and_nothing_else_does()
    {
        var driver = Driver("127.0.0.1:5672", "127.0.0.1:8080");
        driver.GuestTransportUrl("rabbit://guest:s3cr3t@127.0.0.1:5672/").Should().Be("rabbit://guest:s3cr3t@10.0.2.100:5672/");
        driver.GuestTransportUrl("rabbit://u:p@localhost:5672,u:p@127.0.0.1:5673/vhost").Should().Be("rabbit://u:p@10.0.2.100:5672,u:p@127.0.0.1:5673/vhost",
            "a broker the guests may not reach keeps its address (and stays unreachable)");
        driver.GuestUrl("http://127.0.0.1:8080/v1/AUTH_test").Should().Be("http://10.0.2.101:8080/v1/AUTH_test");
        driver.GuestUrl("http://127.0.0.1:8080/v1/AUTH_test/").Should().Be("http://10.0.2.101:8080/v1/AUTH_test/");
        driver.GuestUrl("http://127.0.0.1:9999/v1/AUTH_test").Should().Be("http://127.0.0.1:9999/v1/AUTH_test");
        driver.GuestUrl("not a url").Should().Be("not a url");
        ((IComputeDriver)Driver()).GuestUrl("http://127.0.0.1:8080/x").Should().Be("http://127.0.0.1:8080/x");
    }

    [Fact]
    public async Task The_config_drive_holds_novas_layout_readable_by_mtools_and_only_its_owner_can_read_it()
    {
        var image = Path.Combine(_dir, "config-drive.img");
        await ConfigDrive.WriteAsync(image, "0e4f8a4c-1111-2222-3333-444455556666", "trove-0e4f8a4c", new Dictionary<string, string> { ["trove-guest"] = "ssh-ed25519 AAAAkey deploy" },
            [new InjectedFile("/etc/trove/conf.d/guest_info.conf", "[DEFAULT]\nguest_id = x\n"), new InjectedFile("/etc/trove/conf.d/trove-guestagent.conf", "[DEFAULT]\ntransport_url = rabbit://u:p@h:1/\n")],
            CancellationToken.None);
        File.GetUnixFileMode(image).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.Exists(Path.Combine(_dir, ".config-drive")).Should().BeFalse("the staged secrets are gone");
        async Task<string> Read(string path) =>
            (await CliWrap.Cli.Wrap("mtype").WithArguments(["-i", image, path]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync()).StandardOutput;
        var meta = JsonNode.Parse(await Read("::/openstack/latest/meta_data.json"))!;
        meta["uuid"]!.GetValue<string>().Should().Be("0e4f8a4c-1111-2222-3333-444455556666");
        meta["public_keys"]!["trove-guest"]!.GetValue<string>().Should().Be("ssh-ed25519 AAAAkey deploy");
        var files = meta["files"]!.AsArray();
        files.Select(f => f!["path"]!.GetValue<string>()).Should().Equal("/etc/trove/conf.d/guest_info.conf", "/etc/trove/conf.d/trove-guestagent.conf");
        (await Read("::/openstack" + files[1]!["content_path"]!.GetValue<string>())).Should().Contain("transport_url = rabbit://u:p@h:1/");
        var label = await CliWrap.Cli.Wrap("blkid").WithArguments(["-s", "LABEL", "-o", "value", image]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        label.StandardOutput.Trim().Should().BeEquivalentTo("config-2", "the guest finds it by Nova's label");
    }

    [Fact]
    public async Task The_image_registry_keeps_one_copy_per_content_and_finds_images_by_id_or_datastore_version()
    {
        var file = Path.Combine(_dir, "disk.qcow2");
        await File.WriteAllBytesAsync(file, [1, 2, 3, 4]);
        var registry = new LocalImageRegistry(Path.Combine(_dir, "images"));
        var first = await registry.RegisterAsync(file, "a", "mariadb", "10.11", CancellationToken.None);
        (await registry.RegisterAsync(file, "again", "mariadb", "10.11", CancellationToken.None)).Id.Should().Be(first.Id, "the same bytes are the same image");
        var uefi = await registry.RegisterAsync(file, "u", "mariadb", "10.11", CancellationToken.None, new Dictionary<string, string> { ["hw_firmware_type"] = "uefi" });
        uefi.Id.Should().NotBe(first.Id);
        registry.Find(first.Id, "ignored", "ignored").Name.Should().Be("a");
        registry.Find(null, "mariadb", "10.11").Id.Should().Be(uefi.Id, "the newest image of the version");
        File.ReadAllBytes(registry.PathOf(first.Id)).Should().Equal(1, 2, 3, 4);
        registry.Invoking(r => r.Find("../../etc/passwd", "mariadb", "10.11")).Should().Throw<ComputeDriverException>().WithMessage("*not a UUID*");
        registry.Invoking(r => r.Find(Guid.NewGuid().ToString(), "mariadb", "10.11")).Should().Throw<ComputeDriverException>().WithMessage("*not in the image registry*");
        registry.Invoking(r => r.Find(null, "postgresql", "15")).Should().Throw<ComputeDriverException>().WithMessage("*no image for postgresql 15*");
    }

    [Fact]
    public async Task A_create_that_cannot_find_its_image_leaves_nothing_behind()
    {
        var driver = Driver("127.0.0.1:5672");
        var id = Guid.NewGuid().ToString();
        var create = () => driver.CreateAsync(new ServerRequest(id, "mariadb", "10.11", 512, 1, 1, null, "rabbit://g:g@127.0.0.1:5672/", "trove", "trove-conductor"), CancellationToken.None);
        await create.Should().ThrowAsync<ComputeDriverException>().WithMessage("*no image for mariadb 10.11*");
        Directory.Exists(QemuServerLayout.Of(_dir, id).Directory).Should().BeFalse();
        var unknown = () => driver.CreateAsync(new ServerRequest(id, "oracle", "19", 512, 1, 1, null, "rabbit://g:g@127.0.0.1:5672/", "trove", "trove-conductor"), CancellationToken.None);
        await unknown.Should().ThrowAsync<ComputeDriverException>().WithMessage("*does not know where datastore manager 'oracle'*");
    }
}
