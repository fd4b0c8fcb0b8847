using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.ImageBuilder.Disk;

/// <summary>One GPT partition: where it is (512-byte sectors), its type and its unique id.</summary>
public sealed record Partition(int Number, string Name, long StartSector, long Sectors, string TypeGuid, Guid Uuid)
{
    public long StartBytes => StartSector * DiskLayout.SectorSize;
    public long SizeBytes => Sectors * DiskLayout.SectorSize;
}

/// <summary>
/// The layout of every image: one GPT disk that boots under BIOS and UEFI (dib.md 3.7): a 1 MiB BIOS boot partition
/// for GRUB's core image, an EFI system partition with GRUB at the removable path, and the root file system. Ids come
/// from a seed, so a reproducible build gets the same ones every time.
/// </summary>
public sealed record DiskLayout(Partition BiosBoot, Partition Esp, Partition Root, long TotalSectors, Guid DiskGuid, Guid RootFsUuid)
{
    public const int SectorSize = 512;
    public const string BiosBootType = "21686148-6449-6E6F-744E-656564454649";
    public const string EspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    public const string LinuxType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    private const long MiB = 1024 * 1024 / SectorSize;

    public IReadOnlyList<Partition> Partitions => [BiosBoot, Esp, Root];

    public static DiskLayout For(long rootBytes, long espBytes, string seed)
    {
        var rootSectors = (rootBytes + MiB * SectorSize - 1) / (MiB * SectorSize) * MiB;
        var espSectors = (espBytes + MiB * SectorSize - 1) / (MiB * SectorSize) * MiB;
        var bios = new Partition(1, "bios", MiB, MiB, BiosBootType, Id(seed, "bios"));
        var esp = new Partition(2, "esp", bios.StartSector + bios.Sectors, espSectors, EspType, Id(seed, "esp"));
        var root = new Partition(3, "root", esp.StartSector + esp.Sectors, rootSectors, LinuxType, Id(seed, "root"));
        // The backup GPT needs 33 sectors at the end; a whole MiB keeps the size aligned.
        return new DiskLayout(bios, esp, root, root.StartSector + root.Sectors + MiB, Id(seed, "disk"), Id(seed, "rootfs"));
    }

    /// <summary>sfdisk's script for the table, with every id fixed.</summary>
    public string SfdiskScript()
    {
        var sb = new StringBuilder("label: gpt\n").Append($"label-id: {DiskGuid}\n").Append("unit: sectors\nfirst-lba: 2048\n\n");
        foreach (var p in Partitions)
            sb.Append($"start={p.StartSector}, size={p.Sectors}, type={p.TypeGuid}, uuid={p.Uuid}, name=\"{p.Name}\"\n");
        return sb.ToString();
    }

    /// <summary>A version-4-shaped UUID from SHA-256 of the seed and the role: random-looking, and the same for the same seed.</summary>
    public static Guid Id(string seed, string role)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed + "\n" + role));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
