using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>Files written out of the page cache (GNU dd's <c>iflag=nocache</c>), and how much of one is resident (the real <c>fincore</c>).</summary>
internal static class PageCacheProbe
{
    public static async Task<long> ResidentAsync(string file) =>
        long.Parse((await Cli.Wrap("fincore").WithArguments(["--bytes", "--noheadings", "--output", "RES", file]).ExecuteBufferedAsync()).StandardOutput.Trim());

    public static async Task<string> WrittenAndDroppedAsync(string file, int size)
    {
        await Cli.Wrap("dd").WithArguments(["if=/dev/urandom", $"of={file}", "bs=1M", $"count={size / (1024 * 1024)}", "conv=fsync", "status=none"]).ExecuteAsync();
        await Cli.Wrap("dd").WithArguments([$"if={file}", "iflag=nocache", "count=0", "status=none"]).ExecuteAsync();
        return file;
    }

    /// <summary>Waits up to 10 s for the whole file to be resident; returns what is.</summary>
    public static async Task<long> WaitResidentAsync(string file, long size)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ResidentAsync(file) < size && DateTime.UtcNow < deadline) await Task.Delay(50);
        return await ResidentAsync(file);
    }
}
