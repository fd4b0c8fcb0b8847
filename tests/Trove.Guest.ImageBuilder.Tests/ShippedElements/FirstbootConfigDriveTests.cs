using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Testing;

namespace Trove.Guest.ImageBuilder.Tests.ShippedElements;

/// <summary>
/// The trove-guest-agent element's trove-guest-firstboot, run for real on a config drive in Nova's layout (on a loop
/// device, found through udev's by-label link) in mount and UTS namespaces of its own: /etc/trove, root's .ssh,
/// /etc/hostname and /dev/disk are fresh there, so the host's stay as they are. This machine's kernel has no vfat, which
/// our controller's drives use, so the drive here is ext4; the script mounts either. The guest VM tests run it on vfat.
/// </summary>
public sealed class FirstbootConfigDriveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgfb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Script => Path.Combine(RepoPaths.Root, "elements", "trove-guest-agent", "static", "usr", "local", "sbin", "trove-guest-firstboot");

    /// <summary>Runs the script's config-drive step on a drive holding <paramref name="meta"/> and the files, then prints what it left.</summary>
    private async Task<BufferedCommandResult> RunAsync(JsonObject meta, IReadOnlyDictionary<string, string> contents)
    {
        var drive = Path.Combine(_dir, "drive");
        Directory.CreateDirectory(Path.Combine(drive, "openstack", "latest"));
        Directory.CreateDirectory(Path.Combine(drive, "openstack", "content"));
        File.WriteAllText(Path.Combine(drive, "openstack", "latest", "meta_data.json"), meta.ToJsonString());
        foreach (var (name, text) in contents) File.WriteAllText(Path.Combine(drive, "openstack", "content", name), text);
        var image = Path.Combine(_dir, "config.img");
        using (var f = File.Create(image)) f.SetLength(8 << 20);
        await Cli.Wrap("mkfs.ext4").WithArguments(["-q", "-L", "config-2", "-d", drive, image]).ExecuteAsync();
        var loop = (await Cli.Wrap("losetup").WithArguments(["-f", "--show", image]).ExecuteBufferedAsync()).StandardOutput.Trim();
        try
        {
            var hostnameFile = Path.Combine(_dir, "hostname");
            File.WriteAllText(hostnameFile, "");
            var inner = $$"""
                set -e
                mount -t tmpfs none /dev/disk 2>/dev/null || { mkdir -p /dev/disk; mount -t tmpfs none /dev/disk; }
                mkdir /dev/disk/by-label && ln -s {{loop}} /dev/disk/by-label/config-2
                mkdir -p /etc/trove && mount -t tmpfs -o mode=0755 none /etc/trove && mkdir -m 0700 /etc/trove/conf.d
                mkdir -p /root/.ssh && mount -t tmpfs -o mode=0700 none /root/.ssh
                mount --bind {{hostnameFile}} /etc/hostname
                bash {{Script}} config-drive
                echo "== files"; find /etc/trove /root/.ssh -type f -printf '%p %m\n' | sort
                for f in $(find /etc/trove /root/.ssh -type f | sort); do echo "== $f"; cat "$f"; done
                echo "== hostname"; cat /etc/hostname; cat /proc/sys/kernel/hostname
                echo "== mounts"; grep -c trove-guest-config /proc/self/mounts || true
                """;
            return await Cli.Wrap("unshare").WithArguments(["-m", "-u", "bash", "-c", inner]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        }
        finally
        {
            await Cli.Wrap("losetup").WithArguments(["-d", loop]).ExecuteAsync();
        }
    }

    [Fact]
    public async Task The_agent_files_root_keys_and_hostname_are_applied_and_anything_outside_etc_trove_is_refused()
    {
        var meta = new JsonObject
        {
            ["uuid"] = "5f1c", ["hostname"] = "trove-5f1c_db!", ["public_keys"] = new JsonObject { ["ops"] = "ssh-ed25519 AAAAC3NzaC1 ops@ctl" },
            ["files"] = new JsonArray(
                new JsonObject { ["path"] = "/etc/trove/conf.d/guest_info.conf", ["content_path"] = "/content/0000" },
                new JsonObject { ["path"] = "/etc/trove/conf.d/trove-guestagent.conf", ["content_path"] = "/content/0001" },
                new JsonObject { ["path"] = "/etc/passwd", ["content_path"] = "/content/0002" },
                new JsonObject { ["path"] = "/etc/trove/../shadow", ["content_path"] = "/content/0002" },
                new JsonObject { ["path"] = "/etc/trove/extra/x.conf", ["content_path"] = "/content/../../x" }),
        };
        var result = await RunAsync(meta, new Dictionary<string, string>
        {
            ["0000"] = "[DEFAULT]\nguest_id = 5f1c\n", ["0001"] = "[DEFAULT]\ntransport_url = rabbit://u:p@10.0.2.100:5672/\n", ["0002"] = "evil\n",
        });

        result.ExitCode.Should().Be(0, result.StandardError + result.StandardOutput);
        var output = result.StandardOutput;
        output.Should().Contain("== files\n/etc/trove/conf.d/guest_info.conf 600\n/etc/trove/conf.d/trove-guestagent.conf 600\n/root/.ssh/authorized_keys 600\n==",
            "these three files, and no other, were written");
        output.Should().Contain("== /etc/trove/conf.d/guest_info.conf\n[DEFAULT]\nguest_id = 5f1c\n");
        output.Should().Contain("transport_url = rabbit://u:p@10.0.2.100:5672/");
        output.Should().Contain("== /root/.ssh/authorized_keys\nssh-ed25519 AAAAC3NzaC1 ops@ctl\n==");
        output.Should().NotContain("evil");
        output.Should().Contain("== hostname\ntrove-5f1cdb\ntrove-5f1cdb\n", "only letters, digits, dots and dashes are kept");
        output.Should().EndWith("== mounts\n0\n", "the drive is unmounted again");
        output.Should().Contain("refusing to write /etc/passwd").And.Contain("refusing /etc/trove/../shadow").And.Contain("refusing /etc/trove/extra/x.conf");
        output.Should().Contain("installed 1 authorized key(s) for root");
    }

    [Fact]
    public async Task A_drive_without_keys_or_hostname_writes_its_files_only()
    {
        var meta = new JsonObject
        {
            ["uuid"] = "77aa",
            ["files"] = new JsonArray(new JsonObject { ["path"] = "/etc/trove/new-folder/guest_info.conf", ["content_path"] = "/content/0000" }),
        };
        var result = await RunAsync(meta, new Dictionary<string, string> { ["0000"] = "[DEFAULT]\nguest_id = 77aa\n" });

        result.ExitCode.Should().Be(0, result.StandardError + result.StandardOutput);
        result.StandardOutput.Should().Contain("== files\n/etc/trove/new-folder/guest_info.conf 600\n==");
        var hostname = File.ReadAllText("/proc/sys/kernel/hostname").Trim();
        result.StandardOutput.Should().Contain($"== hostname\n{hostname}\n==", "/etc/hostname stays empty and the kernel's name as it was")
            .And.NotContain("authorized key");
    }
}
