using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Disk;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// The disk built without a loop device, a mount or device-mapper: its GPT as sfdisk reads it back, and real boots
/// under qemu (TCG) with SeaBIOS and with OVMF, each reaching our GRUB configuration on the root file system, which
/// prints a marker on the serial console. (A kernel boot needs a kernel in the tree: that is the image build's test.)
/// </summary>
public sealed class DiskAssemblyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgi-disk-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<DiskImage> AssembleGrubOnlyDiskAsync(string seed = "test-seed")
    {
        var tree = Path.Combine(_dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "boot", "grub"));
        File.WriteAllText(Path.Combine(tree, "boot", "grub", "grub.cfg"), """
            serial --unit=0 --speed=115200
            terminal_input serial
            terminal_output serial
            echo "TGI-GRUB-OK platform=$grub_platform root=$root"
            sleep 1
            halt
            """);
        File.WriteAllText(Path.Combine(tree, "hello.txt"), "a file in the root file system\n");
        return await DiskAssembler.AssembleAsync(tree, Path.Combine(_dir, "disk.raw"), new DiskOptions { Seed = seed, RootBytes = 64L << 20 }, CancellationToken.None);
    }

    [Fact]
    public async Task The_partition_table_is_a_gpt_with_bios_boot_esp_and_root_and_fixed_ids()
    {
        var disk = await AssembleGrubOnlyDiskAsync();
        var json = (await Cli.Wrap("sfdisk").WithArguments(["-J", disk.Path]).ExecuteBufferedAsync()).StandardOutput;
        var table = JsonNode.Parse(json)!["partitiontable"]!;
        table["label"]!.GetValue<string>().Should().Be("gpt");
        table["id"]!.GetValue<string>().Should().BeEquivalentTo(DiskLayout.Id("test-seed", "disk").ToString());
        var parts = table["partitions"]!.AsArray();
        parts.Select(p => p!["type"]!.GetValue<string>()).Should().Equal(DiskLayout.BiosBootType, DiskLayout.EspType, DiskLayout.LinuxType);
        parts.Select(p => p!["start"]!.GetValue<long>()).Should().Equal(disk.Layout.Partitions.Select(p => p.StartSector));
        // The protective MBR carries GRUB's boot code, pointed at core.img.
        var mbr = new byte[512];
        await using (var f = File.OpenRead(disk.Path)) f.ReadExactly(mbr);
        BitConverter.ToUInt64(mbr, 0x5C).Should().Be((ulong)disk.Layout.BiosBoot.StartSector);
        mbr[510].Should().Be(0x55);
        mbr[511].Should().Be(0xAA);
        // The same seed gives the same ids; another seed, others.
        DiskLayout.For(64L << 20, 32L << 20, "test-seed").Should().Be(disk.Layout);
        DiskLayout.For(64L << 20, 32L << 20, "other").RootFsUuid.Should().NotBe(disk.Layout.RootFsUuid);
    }

    [Theory]
    [InlineData("bios", "platform=pc")]
    [InlineData("uefi", "platform=efi")]
    public async Task The_disk_boots_to_its_grub_configuration(string firmware, string expected)
    {
        var disk = await AssembleGrubOnlyDiskAsync();
        var boot = await QemuConsole.BootAsync(disk.Path, "raw", firmware, 256, line => line.Contains("TGI-GRUB-OK", StringComparison.Ordinal), TimeSpan.FromSeconds(150));
        var text = boot.Console;
        text.Should().Contain("TGI-GRUB-OK").And.Contain(expected, $"{firmware} reached GRUB's configuration on the root file system in {boot.Elapsed.TotalSeconds:0} s:\n{boot.Tail}");
    }
}
