using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Trove.Guest.Agent.Volumes;

/// <summary>Trove's <c>get_filesystem_stats</c> result for a mount point (guest-contract §1.2 FsStats), from statvfs(3).</summary>
public static partial class FilesystemStats
{
    public static JsonObject For(string path)
    {
        if (StatVfs(path, out var s) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new Messaging.Server.RpcFailureException("GuestError", "trove.common.exception",
                errno == 2 ? $"the mount point {path} does not exist (is the volume mounted?)" : $"statvfs({path}) failed: errno {errno}");
        }
        var total = s.Blocks * s.BlockSize;
        var free = s.BlocksFree * s.BlockSize;
        return new JsonObject
        {
            ["block_size"] = s.BlockSize,
            ["total_blocks"] = s.Blocks,
            ["free_blocks"] = s.BlocksFree,
            ["total"] = ToGb(total),
            ["free"] = free, // bytes, as Trove sends it (sic)
            ["used"] = ToGb(total - free),
        };
    }

    /// <summary>Trove's to_gb: GiB rounded to two decimals, at least 0.01 for anything non-zero.</summary>
    public static double ToGb(ulong bytes)
    {
        if (bytes == 0) return 0.0;
        var gb = Math.Round(bytes / 1073741824.0, 2);
        return gb < 0.01 ? 0.01 : gb;
    }

    // glibc's struct statvfs on 64-bit Linux: eleven 64-bit fields and six ints of padding (112 bytes).
    [StructLayout(LayoutKind.Sequential, Size = 112)]
    private struct StatVfsBuffer
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FsId;
        public ulong Flags;
        public ulong NameMax;
    }

    [LibraryImport("libc", EntryPoint = "statvfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatVfs(string path, out StatVfsBuffer buffer);
}
