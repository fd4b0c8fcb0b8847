using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Volumes;

/// <summary>The data volume: format when blank, mount, unmount, grow (guest-contract §2.1 step 3 and §2.9).</summary>
public sealed class VolumeManager(AgentOptions options, ILogger<VolumeManager> logger)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    public async Task<bool> IsMountedAsync(string mountPoint, CancellationToken ct)
    {
        var full = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (var line in await File.ReadAllLinesAsync("/proc/self/mounts", ct).ConfigureAwait(false))
        {
            var fields = line.Split(' ');
            if (fields.Length > 1 && fields[1].Replace("\\040", " ") == full) return true;
        }
        return false;
    }

    /// <summary>Formats <paramref name="device"/> with <c>volume_fstype</c> unless it already holds a file system.</summary>
    public async Task FormatIfBlankAsync(string device, CancellationToken ct)
    {
        var isNew = await StartsWithZerosAsync(device, ct).ConfigureAwait(false);
        if (!isNew)
        {
            var probe = await RunAsync("blkid", ["-o", "value", "-s", "TYPE", device], ct, check: false).ConfigureAwait(false);
            if (probe.ExitCode == 0 && probe.StandardOutput.Trim().Length > 0) return;
        }
        var tool = MkfsTool;
        logger.LogInformation("Formatting {Device} as {Type}", device, options.VolumeFstype);
        await RunAsync(tool, MkfsArguments(device, isNew), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>mkfs.TYPE</c> itself: <c>mkfs -t TYPE</c> only runs it, a second exec (0.06-0.2 s on an emulated CPU).
    /// The type names a tool, so it is a plain word.
    /// </summary>
    internal string MkfsTool =>
        options.VolumeFstype.Length > 0 && options.VolumeFstype.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            ? "mkfs." + options.VolumeFstype
            : throw new RpcFailureException("GuestError", "trove.common.exception", $"volume_fstype '{options.VolumeFstype}' is not a file system type");

    /// <summary>
    /// <c>mkfs.TYPE</c>'s command line: ext file systems get <c>format_options</c> (Trove's <c>-m 5</c>). On a new volume
    /// the journal is not zeroed first (<c>lazy_journal_init</c>): mke2fs would otherwise write all of it, 32 MiB for a
    /// 1 GiB volume, before prepare can go on. Nothing stale can be replayed from it: a new volume reads as zeros, and
    /// ext4 with metadata_csum (Debian's default) checksums every journal block. Options that set their own <c>-E</c>
    /// are left as they are, since mke2fs reads only the last one.
    /// </summary>
    internal string[] MkfsArguments(string device, bool isNew)
    {
        if (!options.VolumeFstype.StartsWith("ext", StringComparison.Ordinal)) return [device];
        var formatOptions = options.FormatOptions.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] lazyJournal = isNew && !formatOptions.Any(o => o.StartsWith("-E", StringComparison.Ordinal)) ? ["-E", "lazy_journal_init=1"] : [];
        return [.. formatOptions, .. lazyJournal, "-F", device];
    }

    /// <summary>
    /// True when the device's first MiB is all zeros, as a new volume is. File systems, partition tables and LUKS keep
    /// the signatures blkid looks for in that range (md's 0.90 and 1.0 superblocks sit at the end, but such a member
    /// starts with the array's own data), so blkid, a process to start, is asked only otherwise.
    /// </summary>
    private static async Task<bool> StartsWithZerosAsync(string device, CancellationToken ct)
    {
        var buffer = new byte[1024 * 1024];
        await using var stream = new FileStream(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        return read > 0 && !buffer.AsSpan(0, read).ContainsAnyExcept((byte)0);
    }

    public async Task MountAsync(string device, string mountPoint, CancellationToken ct)
    {
        if (await IsMountedAsync(mountPoint, ct).ConfigureAwait(false)) return;
        Directory.CreateDirectory(mountPoint);
        await RunAsync("mount", ["-o", options.MountOptions + (IsRegularFile(device) ? ",loop" : ""), device, mountPoint], ct).ConfigureAwait(false);
        logger.LogInformation("Mounted {Device} on {MountPoint}", device, mountPoint);
    }

    public async Task UnmountAsync(string mountPoint, CancellationToken ct)
    {
        if (!await IsMountedAsync(mountPoint, ct).ConfigureAwait(false)) return;
        await RunAsync("umount", [mountPoint], ct).ConfigureAwait(false);
        logger.LogInformation("Unmounted {MountPoint}", mountPoint);
    }

    /// <summary>Grows the file system to its device: ext offline (fsck first) or online, as Trove's resize_fs.</summary>
    public async Task ResizeAsync(string device, string mountPoint, bool online, CancellationToken ct)
    {
        if (!online) await UnmountAsync(mountPoint, ct).ConfigureAwait(false);
        if (!options.VolumeFstype.StartsWith("ext", StringComparison.Ordinal))
            throw new RpcFailureException("GuestError", "trove.common.exception", $"resize_fs supports ext file systems, not {options.VolumeFstype}");
        if (!online) await RunAsync("e2fsck", ["-f", "-p", device], ct, check: false).ConfigureAwait(false);
        await RunAsync("resize2fs", [device], ct).ConfigureAwait(false);
    }

    private static bool IsRegularFile(string path) => File.Exists(path) && !path.StartsWith("/dev/", StringComparison.Ordinal);

    private async Task<BufferedCommandResult> RunAsync(string tool, string[] args, CancellationToken ct, bool check = true)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(CommandTimeout);
        var result = await Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(limit.Token).ConfigureAwait(false);
        if (check && result.ExitCode != 0)
            throw new RpcFailureException("GuestError", "trove.common.exception",
                $"{tool} {string.Join(' ', args)} failed ({result.ExitCode}): {result.StandardError.Trim()}");
        return result;
    }
}
