namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// What makes the package-installing phases cheaper without changing what they install. While they run, dpkg does not
/// fsync (the tree only becomes a file system image later, and a crash only loses the build) and
/// <c>update-initramfs</c> is diverted to a no-op: a Debian kernel install otherwise builds the initramfs twice, once
/// from the kernel's postinst and once from the initramfs-tools trigger (about 20 s each here, dib.md §3.4), and any
/// element that calls it builds it again. <see cref="EndAsync"/> puts both back and builds one initramfs per kernel,
/// after every element has written its initramfs configuration.
/// </summary>
internal static class InstallTuning
{
    private const string Diverted = "/usr/sbin/update-initramfs.trove-guest-image";

    private const string BeginScript = $$"""
        set -e
        if command -v dpkg-divert >/dev/null; then
          dpkg-divert --quiet --local --rename --divert {{Diverted}} --add /usr/sbin/update-initramfs
          mkdir -p /usr/sbin
          printf '#!/bin/sh\n# trove-guest-image: deferred; one initramfs per kernel is built when the install phases end\nexit 0\n' > /usr/sbin/update-initramfs
          chmod 755 /usr/sbin/update-initramfs
        fi
        """;

    private const string EndScript = $$"""
        set -e
        if command -v dpkg-divert >/dev/null && dpkg-divert --list /usr/sbin/update-initramfs | grep -q trove-guest-image; then
          rm -f /usr/sbin/update-initramfs
          dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
        fi
        [ -x /usr/sbin/update-initramfs ] || exit 0
        for dir in /lib/modules/*; do
          [ -d "$dir" ] || continue
          version=${dir##*/}
          [ -e "/boot/vmlinuz-$version" ] || continue
          if [ -e "/boot/initrd.img-$version" ]; then mode=-u; else mode=-c; fi
          echo "initramfs for $version"
          /usr/sbin/update-initramfs "$mode" -k "$version"
        done
        """;

    private static readonly string UnsafeIoFile = Path.Combine("etc", "dpkg", "dpkg.cfg.d", "zz-trove-guest-image");

    /// <summary>
    /// Before root.d, in the empty tree: debootstrap's second stage and the OS element's base install run dpkg inside the
    /// tree, which reads this file, so they too skip the fsyncs (DIB gets the same effect from building in tmpfs).
    /// </summary>
    public static void PrepareEmptyRoot(string root) => WriteUnsafeIo(root);

    /// <summary>Whether root.d left anything but <see cref="PrepareEmptyRoot"/>'s file.</summary>
    public static bool HasTree(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Any(f => f != Path.Combine(root, UnsafeIoFile))
        || Directory.EnumerateDirectories(root).Any(d => Path.GetFileName(d) != "etc");

    private static void WriteUnsafeIo(string root)
    {
        var file = Path.Combine(root, UnsafeIoFile);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "# trove-guest-image: no fsync while the image is built; removed when the build ends\nforce-unsafe-io\n");
    }

    /// <summary>Only Debian-family trees (dpkg and a shell) are tuned; any other tree is built as DIB builds it.</summary>
    public static bool Applies(string root) =>
        File.Exists(Path.Combine(root, "usr", "bin", "dpkg")) && (File.Exists(Path.Combine(root, "bin", "sh")) || File.Exists(Path.Combine(root, "usr", "bin", "sh")));

    /// <summary>Before pre-install, in a tree with its <see cref="ChrootMounts"/>.</summary>
    public static Task BeginAsync(string root, CancellationToken ct)
    {
        WriteUnsafeIo(root);
        return InChrootAsync("preparing the install phases", root, BeginScript, ct);
    }

    /// <summary>After the last in-chroot phase; returns the tool's output (one line per kernel).</summary>
    public static Task<string> EndAsync(string root, CancellationToken ct)
    {
        File.Delete(Path.Combine(root, UnsafeIoFile));
        return InChrootAsync("building the initramfs", root, EndScript, ct);
    }

    /// <summary>For a tree that was not tuned (not Debian): nothing of ours is left in it.</summary>
    public static void Remove(string root) => File.Delete(Path.Combine(root, UnsafeIoFile));

    private static Task<string> InChrootAsync(string step, string root, string script, CancellationToken ct) =>
        HostTools.RunAsync(step, "chroot", [root, "/usr/bin/env", "-u", "TMPDIR", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "/bin/sh", "-c", script], ct);
}
