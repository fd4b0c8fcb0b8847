using System.IO.MemoryMappedFiles;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.Agent.Hosting;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>MADV_PAGEOUT on a file mapping really drops its resident pages (the agent does it to its own image once READY).</summary>
public sealed partial class StartupMemoryTrimmerTests
{
    [System.Text.RegularExpressions.GeneratedRegex("^[0-9a-f]+-[0-9a-f]+ ")]
    private static partial System.Text.RegularExpressions.Regex MappingHeader();

    [Fact]
    public void Touched_pages_of_a_read_only_file_mapping_are_given_back()
    {
        var path = Path.Combine(Path.GetTempPath(), "trim-" + Guid.NewGuid().ToString("N") + ".bin");
        try
        {
            File.WriteAllBytes(path, Enumerable.Range(0, 8 << 20).Select(i => Page(i)).ToArray());
            using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            long sum = 0;
            for (long offset = 0; offset < 8 << 20; offset += 4096) sum += view.ReadByte(offset);
            sum.Should().BeGreaterThan(0);
            var before = ResidentKb(path);
            before.Should().BeGreaterThan(7 * 1024, "every page of the view was read");

            StartupMemoryTrimmer.TrimFileMappings(path, NullLogger.Instance).Should().BeGreaterThanOrEqualTo(8 << 20);

            ResidentKb(path).Should().BeLessThan(before / 4);
            view.ReadByte(5 << 20).Should().Be(Page(5 << 20), "a paged-out page faults back in from the file");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_this_process_does_not_map_is_left_alone() =>
        StartupMemoryTrimmer.TrimFileMappings("/no/such/file", NullLogger.Instance).Should().Be(0);

    /// <summary>Each page of the file holds its own non-zero byte.</summary>
    private static byte Page(int offset) => unchecked((byte)((offset >> 12) | 1));

    private static long ResidentKb(string path)
    {
        long kb = 0;
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (MappingHeader().IsMatch(line))
                inMapping = line.TrimEnd().EndsWith(path, StringComparison.Ordinal);
            else if (inMapping && line.StartsWith("Rss:", StringComparison.Ordinal))
                kb += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        return kb;
    }
}
