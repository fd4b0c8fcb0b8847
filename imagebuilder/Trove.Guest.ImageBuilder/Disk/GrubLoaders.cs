using System.Buffers.Binary;

namespace Trove.Guest.ImageBuilder.Disk;

/// <summary>
/// GRUB for both firmwares, made on the host without grub-install (which probes real block devices and needs the
/// root mounted): a BIOS core image that lives in the BIOS boot partition and is started by GRUB's boot sector in the
/// protective MBR, and a standalone EFI binary for the ESP's removable path. Both carry the same early configuration:
/// find the root file system by its label, then read <c>/boot/grub/grub.cfg</c> from it (dib.md 3.7).
/// </summary>
public static class GrubLoaders
{
    public const string BiosModulesDir = "/usr/lib/grub/i386-pc";
    public const string EfiModulesDir = "/usr/lib/grub/x86_64-efi";

    /// <summary>What both loaders need before they can read grub.cfg, and what a kernel boot needs after.</summary>
    private static readonly string[] CommonModules =
    [
        "part_gpt", "ext2", "fat", "search", "search_label", "search_fs_uuid", "configfile", "normal", "linux", "echo", "test",
        "serial", "terminal", "gzio", "halt", "reboot", "ls", "cat", "sleep",
    ];

    public static string EarlyConfig(string rootLabel) =>
        $"search --no-floppy --label {rootLabel} --set=root\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n";

    /// <summary>grub-mkimage for i386-pc with the early configuration embedded; returns core.img's path.</summary>
    public static async Task<string> BuildBiosCoreAsync(string work, string rootLabel, CancellationToken ct)
    {
        var early = Path.Combine(work, "early-bios.cfg");
        await File.WriteAllTextAsync(early, EarlyConfig(rootLabel), ct).ConfigureAwait(false);
        var core = Path.Combine(work, "core.img");
        await HostTools.RunAsync("BIOS loader", "grub-mkimage",
            ["-O", "i386-pc", "-d", BiosModulesDir, "-c", early, "-p", "/boot/grub", "-o", core, "biosdisk", .. CommonModules], ct).ConfigureAwait(false);
        return core;
    }

    /// <summary>grub-mkstandalone for x86_64-efi, only the modules named (0.6 MB instead of 10 MB); returns BOOTX64.EFI's path.</summary>
    public static async Task<string> BuildEfiAsync(string work, string rootLabel, CancellationToken ct)
    {
        var early = Path.Combine(work, "early-efi.cfg");
        await File.WriteAllTextAsync(early, EarlyConfig(rootLabel), ct).ConfigureAwait(false);
        var efi = Path.Combine(work, "BOOTX64.EFI");
        var modules = string.Join(' ', CommonModules.Append("efi_gop").Append("all_video"));
        await HostTools.RunAsync("UEFI loader", "grub-mkstandalone",
            ["-O", "x86_64-efi", "-d", EfiModulesDir, $"--install-modules={modules}", $"--modules={modules}", "--locales=", "--fonts=", "--themes=",
                "-o", efi, $"boot/grub/grub.cfg={early}"], ct).ConfigureAwait(false);
        return efi;
    }

    /// <summary>
    /// Writes the BIOS chain into the disk: core.img at the BIOS boot partition, its first sector's blocklist pointing
    /// at the rest of it, and GRUB's boot sector over the protective MBR's code area (the partition entries and the
    /// signature from byte 440 on stay), told where core.img starts.
    /// </summary>
    public static void InstallBios(FileStream disk, string coreImage, Partition biosBoot)
    {
        var core = File.ReadAllBytes(coreImage);
        var sectors = (core.Length + DiskLayout.SectorSize - 1) / DiskLayout.SectorSize;
        if (sectors > biosBoot.Sectors) throw new InvalidOperationException($"core.img ({core.Length} bytes) does not fit the BIOS boot partition");
        // diskboot.img's blocklist: the last 12 bytes of the first sector, {u64 start, u16 sectors, u16 segment}.
        BinaryPrimitives.WriteUInt64LittleEndian(core.AsSpan(DiskLayout.SectorSize - 12), (ulong)biosBoot.StartSector + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(core.AsSpan(DiskLayout.SectorSize - 4), (ushort)(sectors - 1));
        disk.Position = biosBoot.StartBytes;
        disk.Write(core);

        var boot = File.ReadAllBytes(Path.Combine(BiosModulesDir, "boot.img"));
        var mbr = new byte[DiskLayout.SectorSize];
        disk.Position = 0;
        disk.ReadExactly(mbr);
        boot.AsSpan(0, 440).CopyTo(mbr);
        // boot.img's kernel sector field: where core.img's first sector is.
        BinaryPrimitives.WriteUInt64LittleEndian(mbr.AsSpan(0x5C), (ulong)biosBoot.StartSector);
        disk.Position = 0;
        disk.Write(mbr);
    }
}
