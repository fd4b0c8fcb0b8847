using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.Agent.Hosting;

/// <summary>
/// Gives back the pages of the agent's own executable that only start-up touched. A Native AOT binary is one large
/// file mapping: start-up (configuration, DI, the broker handshake) faults in megabytes of code and read-only data
/// that the idle agent never runs again, and the kernel's fault-around maps neighbouring pages with them. Nobody
/// else maps this file, so <c>MADV_PAGEOUT</c> on those mappings really frees the memory; what the agent runs later
/// faults back in from the image. Shared libraries (libc) are left alone: dropping them from our page tables would
/// free nothing. Anonymous memory (heap, type data) is not touched.
/// </summary>
public static partial class StartupMemoryTrimmer
{
    private const int MadvPageout = 21; // linux/mman.h, since Linux 5.4

    /// <summary>Pages out the executable's file mappings; returns the bytes of address space advised (0 when not possible).</summary>
    public static long TrimExecutableMappings(ILogger logger) =>
        ResolveExecutable() is { } exe ? TrimFileMappings(exe, logger) : 0;

    /// <summary>Pages out this process's read-only mappings of <paramref name="path"/>; returns the bytes advised.</summary>
    public static long TrimFileMappings(string path, ILogger logger)
    {
        var exe = Path.GetFullPath(path);
        if (!File.Exists("/proc/self/maps")) return 0;
        long advised = 0;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // 55d0c8a00000-55d0c9200000 r-xp 00000000 08:01 1234 /usr/bin/trove-guest-agent
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || parts[5].Trim() != exe || parts[1].Contains('w')) continue;
            var range = parts[0].Split('-');
            var start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (Madvise((nint)start, (nuint)(end - start), MadvPageout) == 0) advised += (long)(end - start);
            else
            {
                // EINVAL on kernels before 5.4: nothing to gain there, and nothing lost.
                logger.LogDebug("madvise(MADV_PAGEOUT) refused: errno {Errno}", Marshal.GetLastPInvokeError());
                return advised;
            }
        }
        return advised;
    }

    private static string? ResolveExecutable()
    {
        var path = Environment.ProcessPath;
        if (path is null) return null;
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(path);
        }
        catch (IOException)
        {
            return path;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
