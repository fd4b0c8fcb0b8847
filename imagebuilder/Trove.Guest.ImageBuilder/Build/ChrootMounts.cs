using System.Globalization;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// The mounts an in-chroot phase needs, as DIB makes them: <c>/proc</c>, <c>/dev</c> (bind), <c>/dev/pts</c>,
/// <c>/sys</c> (read-only, which tells systemd and udev they are in a container), the hook tree read-only at
/// <c>/tmp/in_target.d</c>, and the host's <c>resolv.conf</c> for the build. Disposing takes every mount under the root
/// down again, whatever happened (a failed script, a cancelled build), and checks that none is left: a stale mount
/// under a build directory is how DIB leaves hosts broken.
/// </summary>
public sealed class ChrootMounts : IAsyncDisposable
{
    public const string HooksInTarget = "/tmp/in_target.d";

    private readonly string _root;
    private readonly string? _resolvBackup;
    private bool _disposed;

    private ChrootMounts(string root, string? resolvBackup)
    {
        _root = root;
        _resolvBackup = resolvBackup;
    }

    public static async Task<ChrootMounts> MountAsync(string root, string hooks, CancellationToken ct)
    {
        root = Path.GetFullPath(root).TrimEnd('/');
        var resolv = Path.Combine(root, "etc", "resolv.conf");
        string? backup = null;
        // A symlinked resolv.conf (systemd-resolved) is kept as it is, as DIB keeps it.
        if (Directory.Exists(Path.Combine(root, "etc")) && new FileInfo(resolv).LinkTarget is null && File.Exists("/etc/resolv.conf"))
        {
            if (File.Exists(resolv))
            {
                backup = resolv + ".tgi-orig";
                File.Move(resolv, backup, overwrite: true);
            }
            File.Copy("/etc/resolv.conf", resolv, overwrite: true);
        }
        var mounts = new ChrootMounts(root, backup);
        try
        {
            await mounts.MountOneAsync(["-t", "proc", "proc"], "proc", ct).ConfigureAwait(false);
            await mounts.MountOneAsync(["--bind", "/dev"], "dev", ct).ConfigureAwait(false);
            await mounts.MountOneAsync(["--bind", "/dev/pts"], "dev/pts", ct).ConfigureAwait(false);
            await mounts.MountOneAsync(["-t", "sysfs", "-o", "ro", "sysfs"], "sys", ct).ConfigureAwait(false);
            await mounts.MountOneAsync(["--bind", hooks], HooksInTarget.TrimStart('/'), ct).ConfigureAwait(false);
            await HostTools.RunAsync("chroot mounts", "mount", ["-o", "remount,ro,bind", Path.Combine(root, HooksInTarget.TrimStart('/'))], ct).ConfigureAwait(false);
            return mounts;
        }
        catch
        {
            await mounts.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task MountOneAsync(string[] arguments, string relative, CancellationToken ct)
    {
        var target = Path.Combine(_root, relative);
        Directory.CreateDirectory(target);
        await HostTools.RunAsync("chroot mounts", "mount", [.. arguments, target], ct).ConfigureAwait(false);
    }

    /// <summary>Every mount point at or under <paramref name="root"/>, deepest first (from /proc/self/mountinfo).</summary>
    public static IReadOnlyList<string> MountsUnder(string root)
    {
        root = Path.GetFullPath(root).TrimEnd('/');
        return File.ReadAllLines("/proc/self/mountinfo")
            .Select(l => Unescape(l.Split(' ')[4]))
            .Where(p => p == root || p.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct()
            .OrderByDescending(p => p.Length)
            .ToList();
    }

    /// <summary>
    /// Takes down everything mounted under <paramref name="root"/>: first the processes still running in it (a killed
    /// build may leave apt or a daemon behind, which keeps mounts busy), then each mount, lazily if it stays busy.
    /// </summary>
    public static async Task UnmountAllAsync(string root)
    {
        KillProcessesRootedIn(root);
        foreach (var mount in MountsUnder(root))
        {
            var result = await Cli.Wrap("umount").WithArguments([mount]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync().ConfigureAwait(false);
            if (result.ExitCode != 0)
                await Cli.Wrap("umount").WithArguments(["-l", mount]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync().ConfigureAwait(false);
        }
        var left = MountsUnder(root);
        if (left.Count > 0) throw new InvalidOperationException($"could not unmount {string.Join(", ", left)}");
    }

    /// <summary>SIGKILL for every process whose root directory is inside the build's root.</summary>
    public static void KillProcessesRootedIn(string root)
    {
        root = Path.GetFullPath(root).TrimEnd('/');
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var target = new DirectoryInfo(Path.Combine(dir, "root")).LinkTarget;
                if (target is not null && (target == root || target.StartsWith(root + "/", StringComparison.Ordinal)))
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException or ArgumentException or InvalidOperationException)
            {
                // Gone already, or not ours to look at.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            await UnmountAllAsync(_root).ConfigureAwait(false);
        }
        finally
        {
            var resolv = Path.Combine(_root, "etc", "resolv.conf");
            if (_resolvBackup is not null && File.Exists(_resolvBackup)) File.Move(_resolvBackup, resolv, overwrite: true);
            // The hook mount point stays out of the image.
            var hooks = Path.Combine(_root, HooksInTarget.TrimStart('/'));
            if (Directory.Exists(hooks) && MountsUnder(hooks).Count == 0 && !Directory.EnumerateFileSystemEntries(hooks).Any()) Directory.Delete(hooks);
        }
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as octal.</summary>
    private static string Unescape(string s) =>
        s.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
