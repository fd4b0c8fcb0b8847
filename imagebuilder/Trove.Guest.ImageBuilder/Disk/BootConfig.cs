using System.Text;

namespace Trove.Guest.ImageBuilder.Disk;

/// <summary>
/// The files in the tree that boot depends on, written before the file system is made: <c>/etc/fstab</c> by UUID and
/// GRUB's <c>/boot/grub/grub.cfg</c> for the newest kernel in <c>/boot</c>, with the serial console (Trove's guests are
/// watched through it) and no menu delay.
/// </summary>
public static class BootConfig
{
    public const string DefaultCommandLine = "console=tty0 console=ttyS0,115200 nofb nomodeset gfxpayload=text";

    public static void Write(string tree, DiskLayout layout, string fsType = "ext4", string commandLine = DefaultCommandLine)
    {
        var etc = Path.Combine(tree, "etc");
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "fstab"), $"UUID={layout.RootFsUuid} / {fsType} defaults,errors=remount-ro 0 1\n");

        var boot = Path.Combine(tree, "boot");
        var kernel = Directory.Exists(boot)
            ? Directory.GetFiles(boot, "vmlinuz-*").Select(Path.GetFileName).OrderBy(k => k, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (kernel is null) throw new InvalidOperationException($"there is no kernel in {boot} (vmlinuz-*): the elements must install one to make a bootable disk");
        var version = kernel["vmlinuz-".Length..];
        var initrd = File.Exists(Path.Combine(boot, $"initrd.img-{version}")) ? $"initrd.img-{version}" : null;

        var cfg = new StringBuilder()
            .Append("serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n")
            .Append("set timeout=0\nset default=0\n")
            .Append($"menuentry 'Trove guest ({version})' {{\n")
            .Append($"  search --no-floppy --fs-uuid --set=root {layout.RootFsUuid}\n")
            .Append($"  linux /boot/{kernel} root=UUID={layout.RootFsUuid} ro {commandLine}\n");
        if (initrd is not null) cfg.Append($"  initrd /boot/{initrd}\n");
        cfg.Append("}\n");
        Directory.CreateDirectory(Path.Combine(boot, "grub"));
        File.WriteAllText(Path.Combine(boot, "grub", "grub.cfg"), cfg.ToString());
    }
}
