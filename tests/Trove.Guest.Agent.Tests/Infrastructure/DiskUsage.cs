using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>What a file has allocated on this host's disk (stat's 512-byte blocks): a sparse file's written part.</summary>
public static class DiskUsage
{
    public static async Task<long> AllocatedBytesAsync(string path) =>
        long.Parse((await Cli.Wrap("stat").WithArguments(["-c", "%b", path]).ExecuteBufferedAsync()).StandardOutput.Trim(),
            System.Globalization.CultureInfo.InvariantCulture) * 512;
}
