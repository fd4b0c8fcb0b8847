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
