namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// A data volume as a sparse file on a loop device (the <c>process</c> driver's cinder): the guest formats and mounts
/// <c>/dev/loopN</c> as it would a <c>/dev/vdb</c>. Plain losetup: this driver needs no partition scanning.
/// </summary>
internal static class LoopVolumes
{
    private const long GiB = 1L << 30;

    /// <summary>Creates (or grows) the sparse file; blocks are only allocated as the guest writes.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void SetFileSize(string file, int sizeGb)
    {
        try
        {
            using var stream = new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate, Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            if (stream.Length > sizeGb * GiB) throw new ComputeDriverException($"{file} is {stream.Length} bytes: a volume cannot shrink to {sizeGb} GB");
            stream.SetLength(sizeGb * GiB);
        }
        catch (IOException e)
        {
            throw new ComputeDriverException($"cannot size the volume file {file} to {sizeGb} GB: {e.Message}", e);
        }
    }

    /// <summary>Attaches the file to the first free loop device and returns the device (<c>/dev/loopN</c>).</summary>
    public static async Task<string> AttachAsync(string file, CancellationToken ct) =>
        (await HostCommands.RunAsync("losetup", ["--find", "--show", file], ct).ConfigureAwait(false)).Trim();

    /// <summary>Makes the kernel see the file's new size on <paramref name="device"/>.</summary>
    public static Task SetCapacityAsync(string device, CancellationToken ct) =>
        HostCommands.RunAsync("losetup", ["--set-capacity", device], ct);

    public static Task DetachAsync(string device, CancellationToken ct) => HostCommands.RunAsync("losetup", ["--detach", device], ct);

    /// <summary>The loop devices backed by <paramref name="file"/>, also after the file was deleted.</summary>
    public static async Task<IReadOnlyList<string>> DevicesOfAsync(string file, CancellationToken ct)
    {
        var listing = await HostCommands.RunAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"], ct).ConfigureAwait(false);
        var devices = new List<string>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            if (space < 0) continue;
            // --raw escapes blanks as \x20; a deleted backing file reads "FILE (deleted)".
            var backing = line[(space + 1)..].Replace("\\x20", " ");
            if (backing == file || backing == file + " (deleted)") devices.Add(line[..space]);
        }
        return devices;
    }

    /// <summary>Whether <paramref name="device"/> is a loop device backed by <paramref name="file"/> right now.</summary>
    public static async Task<bool> IsAttachedAsync(string? device, string file, CancellationToken ct) =>
        device is not null && (await DevicesOfAsync(file, ct).ConfigureAwait(false)).Contains(device);

    /// <summary>Whether the file (or device) holds a file system already, i.e. the guest prepared it.</summary>
    public static async Task<bool> HasFilesystemAsync(string path, CancellationToken ct)
    {
        var probe = await HostCommands.TryRunAsync("blkid", ["-o", "value", "-s", "TYPE", path], ct).ConfigureAwait(false);
        return probe.ExitCode == 0 && probe.StandardOutput.Trim().Length > 0;
    }
}
