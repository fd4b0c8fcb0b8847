namespace Trove.Guest.TaskManager.Compute;

/// <summary>The host's mount table, as the <c>process</c> driver needs it: is a mount point mounted, and unmount it.</summary>
internal static class Mounts
{
    public static bool IsMounted(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            // /proc/self/mounts escapes blanks in paths as octal (\040).
            if (fields.Length > 1 && fields[1].Replace("\\040", " ").Replace("\\011", "\t") == full) return true;
        }
        return false;
    }

    /// <summary>The device mounted at <paramref name="mountPoint"/>, or null.</summary>
    public static string? DeviceAt(string mountPoint)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        return File.ReadLines("/proc/self/mounts").Select(l => l.Split(' '))
            .FirstOrDefault(f => f.Length > 1 && f[1].Replace("\\040", " ") == full)?[0];
    }

    public static async Task MountAsync(string device, string mountPoint, CancellationToken ct)
    {
        if (IsMounted(mountPoint)) return;
        Directory.CreateDirectory(mountPoint);
        await HostCommands.RunAsync("mount", ["-o", "defaults,noatime", device, mountPoint], ct).ConfigureAwait(false);
    }

    public static async Task UnmountAsync(string mountPoint, CancellationToken ct)
    {
        if (!IsMounted(mountPoint)) return;
        await HostCommands.RunAsync("umount", [mountPoint], ct).ConfigureAwait(false);
    }
}
