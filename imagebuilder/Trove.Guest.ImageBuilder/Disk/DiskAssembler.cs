using System.Globalization;

namespace Trove.Guest.ImageBuilder.Disk;

/// <summary>How to lay out and label the disk.</summary>
public sealed record DiskOptions
{
    public string RootLabel { get; init; } = "cloudimg-rootfs";

    /// <summary>The root file system's size; by default the tree's size plus DIB's 66 % head room (its <c>du / 0.6</c>).</summary>
    public long? RootBytes { get; init; }

    public long EspBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>Seeds every id (disk, partitions, file systems); a fixed seed gives a reproducible layout.</summary>
    public string Seed { get; init; } = Guid.NewGuid().ToString();

    /// <summary>With SOURCE_DATE_EPOCH, file-system times come from it (mkfs.ext4 and mkfs.fat take the clock from the environment).</summary>
    public long? SourceDateEpoch { get; init; }

    /// <summary>Write the tree's fstab and grub.cfg for its kernel (<see cref="BootConfig"/>) before the file system is made.</summary>
    public bool WriteBootConfig { get; init; }
}

/// <summary>A finished raw disk.</summary>
public sealed record DiskImage(string Path, DiskLayout Layout);

/// <summary>
/// Turns a finished root tree into a bootable raw GPT disk with no loop device, mount, partition scanning or
/// device-mapper (dib.md 3.7): the ext4 file system written from the tree by <c>mkfs.ext4 -d</c>, the ESP by mkfs.fat
/// and mtools, the table by sfdisk on the image file, GRUB's BIOS and UEFI loaders made with grub-mkimage and
/// grub-mkstandalone and written at their offsets. The tree's <c>/etc/fstab</c> and <c>/boot/grub/grub.cfg</c> are the
/// caller's (<see cref="BootConfig"/> writes them), since they must be in the tree before the file system is made.
/// </summary>
public static class DiskAssembler
{
    public static async Task<DiskImage> AssembleAsync(string tree, string rawPath, DiskOptions options, CancellationToken ct)
    {
        var work = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(rawPath))!, Path.GetFileName(rawPath) + ".parts");
        Directory.CreateDirectory(work);
        try
        {
            var rootBytes = options.RootBytes ?? DefaultRootBytes(await TreeBytesAsync(tree, ct).ConfigureAwait(false));
            var layout = DiskLayout.For(rootBytes, options.EspBytes, options.Seed);
            if (options.WriteBootConfig) BootConfig.Write(tree, layout);
            var environment = options.SourceDateEpoch is { } epoch
                ? new Dictionary<string, string?> { ["E2FSPROGS_FAKE_TIME"] = epoch.ToString(CultureInfo.InvariantCulture), ["SOURCE_DATE_EPOCH"] = epoch.ToString(CultureInfo.InvariantCulture) }
                : null;

            var rootFs = Path.Combine(work, "root.ext4");
            await HostTools.RunAsync("root file system", "mkfs.ext4",
                ["-q", "-F", "-d", tree, "-L", options.RootLabel, "-U", layout.RootFsUuid.ToString(), "-E", $"hash_seed={layout.RootFsUuid},root_owner=0:0",
                    "-b", "4096", rootFs, $"{layout.Root.SizeBytes / 1024}k"], ct, environment).ConfigureAwait(false);

            var esp = Path.Combine(work, "esp.fat");
            var efi = await GrubLoaders.BuildEfiAsync(work, options.RootLabel, ct).ConfigureAwait(false);
            var volumeId = layout.Esp.Uuid.ToString("N")[..8];
            await HostTools.RunAsync("EFI system partition", "mkfs.fat", ["-C", "-F", "16", "-n", "ESP", "-i", volumeId, esp, (layout.Esp.SizeBytes / 1024).ToString(CultureInfo.InvariantCulture)], ct, environment).ConfigureAwait(false);
            await HostTools.RunAsync("EFI system partition", "mmd", ["-i", esp, "::/EFI", "::/EFI/BOOT"], ct, environment).ConfigureAwait(false);
            await HostTools.RunAsync("EFI system partition", "mcopy", ["-i", esp, efi, "::/EFI/BOOT/BOOTX64.EFI"], ct, environment).ConfigureAwait(false);
            var core = await GrubLoaders.BuildBiosCoreAsync(work, options.RootLabel, ct).ConfigureAwait(false);

            File.Delete(rawPath);
            await using (var disk = new FileStream(rawPath, FileMode.CreateNew, FileAccess.ReadWrite))
                disk.SetLength(layout.TotalSectors * DiskLayout.SectorSize);
            await HostTools.RunAsync("partition table", "sfdisk", ["--no-reread", "--no-tell-kernel", "-q", rawPath], ct, stdin: layout.SfdiskScript()).ConfigureAwait(false);

            await using (var disk = new FileStream(rawPath, FileMode.Open, FileAccess.ReadWrite))
            {
                await CopyIntoAsync(disk, esp, layout.Esp, ct).ConfigureAwait(false);
                await CopyIntoAsync(disk, rootFs, layout.Root, ct).ConfigureAwait(false);
                GrubLoaders.InstallBios(disk, core, layout.BiosBoot);
            }
            return new DiskImage(rawPath, layout);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>DIB's sizing: the tree's size / 0.6, rounded up to 64 MiB.</summary>
    public static long DefaultRootBytes(long treeBytes)
    {
        const long unit = 64L * 1024 * 1024;
        var wanted = (long)(treeBytes / 0.6) + unit;
        return (wanted + unit - 1) / unit * unit;
    }

    private static async Task<long> TreeBytesAsync(string tree, CancellationToken ct)
    {
        var output = await HostTools.RunAsync("sizing", "du", ["-s", "-x", "--block-size=1", tree], ct).ConfigureAwait(false);
        return long.Parse(output.Split('\t')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Copies a file system image into its partition, keeping the holes (the raw disk stays sparse).</summary>
    private static async Task CopyIntoAsync(FileStream disk, string image, Partition partition, CancellationToken ct)
    {
        var length = new FileInfo(image).Length;
        if (length > partition.SizeBytes) throw new InvalidOperationException($"{Path.GetFileName(image)} ({length} bytes) is larger than partition {partition.Name}");
        await using var source = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buffer = new byte[1 << 20];
        long offset = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                disk.Position = partition.StartBytes + offset;
                await disk.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            }
            offset += read;
        }
    }
}
