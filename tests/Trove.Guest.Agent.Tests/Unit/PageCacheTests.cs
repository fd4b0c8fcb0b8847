using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>
/// The prefetch prepare starts before it formats the volume: files out of the page cache (dropped one by one with
/// GNU dd's <c>iflag=nocache</c>) are back in it afterwards, as the real <c>fincore</c> shows; links are not followed.
/// The files are larger than one WILLNEED reads (the device's read-ahead or request size, at most a few MiB): 8 MiB
/// here on the host's disk, 1.25 MiB in a guest.
/// </summary>
public sealed class PageCacheTests : IDisposable
{
    private const int Size = 24 * 1024 * 1024;
    private readonly string _dir = Directory.CreateTempSubdirectory("tgpc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<long> ResidentAsync(string file) =>
        long.Parse((await Cli.Wrap("fincore").WithArguments(["--bytes", "--noheadings", "--output", "RES", file]).ExecuteBufferedAsync()).StandardOutput.Trim());

    private static async Task<string> WrittenAndDroppedAsync(string file, int size)
    {
        await Cli.Wrap("dd").WithArguments(["if=/dev/urandom", $"of={file}", "bs=1M", $"count={size / (1024 * 1024)}", "conv=fsync", "status=none"]).ExecuteAsync();
        await Cli.Wrap("dd").WithArguments([$"if={file}", "iflag=nocache", "count=0", "status=none"]).ExecuteAsync();
        return file;
    }

    [Fact]
    public async Task Files_and_folders_are_read_into_the_page_cache()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_dir, "seed", "mysql")).Parent!.FullName;
        var binary = await WrittenAndDroppedAsync(Path.Combine(_dir, "mariadbd"), Size);
        var inTree = await WrittenAndDroppedAsync(Path.Combine(tree, "mysql", "db.MAD"), Size);
        var outside = await WrittenAndDroppedAsync(Path.Combine(_dir, "outside"), Size);
        File.CreateSymbolicLink(Path.Combine(tree, "link"), outside);
        (await ResidentAsync(binary)).Should().BeLessThan(Size / 2, "the test starts with the files out of the cache");

        var asked = PageCache.Prefetch([binary, tree, Path.Combine(_dir, "no-such-file")]);

        asked.Should().Be(2L * Size, "the binary and the file in the folder, not the link's target or a missing file");
        foreach (var file in new[] { binary, inTree })
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (await ResidentAsync(file) < Size && DateTime.UtcNow < deadline) await Task.Delay(50);
            (await ResidentAsync(file)).Should().Be(Size, file);
        }
        (await ResidentAsync(outside)).Should().BeLessThan(Size / 2, "a link is not followed");
    }
}
