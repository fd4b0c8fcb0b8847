using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Server;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// Prepare formats a volume only when it holds no file system: a new (all-zero) volume is formatted without asking
/// blkid, anything else is formatted only when the real blkid finds nothing on it, and data on a volume is never lost.
/// </summary>
public sealed class VolumeFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgv-").FullName;
    private readonly TestLogger _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private VolumeManager Volumes(string formatOptions = "-m 5", string fstype = "ext4")
    {
        var options = new AgentOptions
        {
            GuestId = Guid.NewGuid().ToString(), DatastoreManager = "mariadb", TransportUrl = "rabbit://127.0.0.1/",
            VolumeFstype = fstype, FormatOptions = formatOptions, Datastore = new DatastoreOptions(), Guest = new TroveGuestOptions(),
        };
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new TestLoggerProvider(_log)));
        return new VolumeManager(options, loggers.CreateLogger<VolumeManager>());
    }

    private string Device(long size)
    {
        var path = Path.Combine(_dir, $"vol-{Guid.NewGuid():N}.img");
        using var f = File.Create(path);
        f.SetLength(size);
        return path;
    }

    /// <summary>One tag (TYPE, UUID) as the real blkid reads it; empty when it finds no file system.</summary>
    private static async Task<string> BlkidAsync(string device, string tag) =>
        (await Cli.Wrap("blkid").WithArguments(["-o", "value", "-s", tag, device]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync()).StandardOutput.Trim();

    [Fact]
    public async Task A_new_volume_is_formatted()
    {
        var device = Device(64L * 1024 * 1024);
        await Volumes().FormatIfBlankAsync(device, CancellationToken.None);
        (await BlkidAsync(device, "TYPE")).Should().Be("ext4");
        _log.Lines.Should().Contain(l => l.Contains("Formatting"));
    }

    [Fact]
    public async Task A_new_volume_gets_its_journal_without_zeroing_it_first_and_any_other_volume_gets_a_zeroed_one()
    {
        // A 1 GiB sparse file: mke2fs gives it a 32 MiB journal. What it writes is what the file has allocated.
        var fresh = Device(1L << 30);
        await Volumes().FormatIfBlankAsync(fresh, CancellationToken.None);
        var used = Device(1L << 30);
        await using (var f = File.OpenWrite(used))
        {
            f.Position = 4096;
            f.Write("a previous tenant's data"u8);
        }
        await Volumes().FormatIfBlankAsync(used, CancellationToken.None);

        var journal = await JournalBytesAsync(fresh);
        journal.Should().BeGreaterThanOrEqualTo(16L << 20);
        (await DiskUsage.AllocatedBytesAsync(fresh)).Should().BeLessThan(journal / 2, "the new volume's journal is not written out");
        (await DiskUsage.AllocatedBytesAsync(used)).Should().BeGreaterThan(journal, "a volume that held data gets its journal zeroed");
        (await BlkidAsync(fresh, "TYPE")).Should().Be("ext4");
    }

    [Fact]
    public void Format_options_with_their_own_extended_options_are_passed_as_they_are()
    {
        Volumes("-m 1 -E stride=16").MkfsArguments("/dev/vdb", isNew: true)
            .Should().Equal("-m", "1", "-E", "stride=16", "-F", "/dev/vdb");
    }

    [Theory]
    [InlineData("ext4", "mkfs.ext4")]
    [InlineData("xfs", "mkfs.xfs")]
    public void The_type_names_the_mkfs_tool_that_runs(string type, string tool) =>
        Volumes(fstype: type).MkfsTool.Should().Be(tool);

    [Theory]
    [InlineData("../../tmp/evil")]
    [InlineData("ext4 -O")]
    [InlineData("")]
    public async Task A_type_that_is_not_a_plain_word_is_refused_before_anything_runs(string type)
    {
        var device = Device(64L * 1024 * 1024);
        var format = () => Volumes(fstype: type).FormatIfBlankAsync(device, CancellationToken.None);
        await format.Should().ThrowAsync<RpcFailureException>().WithMessage("*is not a file system type*");
        (await BlkidAsync(device, "TYPE")).Should().BeEmpty();
        _log.Lines.Should().NotContain(l => l.Contains("Formatting"));
    }

    private static async Task<long> JournalBytesAsync(string device)
    {
        var header = (await Cli.Wrap("dumpe2fs").WithArguments(["-h", device]).ExecuteBufferedAsync()).StandardOutput;
        var line = header.Split('\n').Single(l => l.StartsWith("Total journal size:", StringComparison.Ordinal));
        var value = line["Total journal size:".Length..].Trim();
        return long.Parse(value.TrimEnd('M', 'k'), System.Globalization.CultureInfo.InvariantCulture) * (value.EndsWith('M') ? 1L << 20 : 1L << 10);
    }

    [Fact]
    public async Task A_volume_that_holds_a_file_system_is_kept_as_it_is()
    {
        var device = Device(64L * 1024 * 1024);
        await Cli.Wrap("mkfs.ext4").WithArguments(["-q", "-F", device]).ExecuteAsync();
        var uuid = await BlkidAsync(device, "UUID");
        uuid.Should().NotBeEmpty();

        await Volumes().FormatIfBlankAsync(device, CancellationToken.None);

        (await BlkidAsync(device, "UUID")).Should().Be(uuid, "the file system (and its data) is not made again");
        _log.Lines.Should().NotContain(l => l.Contains("Formatting"));
    }

    [Fact]
    public async Task A_volume_with_data_but_no_file_system_blkid_knows_is_formatted()
    {
        var device = Device(64L * 1024 * 1024);
        await using (var f = File.OpenWrite(device))
        {
            f.Position = 512 * 1024;
            f.Write("not a file system"u8);
        }
        await Volumes().FormatIfBlankAsync(device, CancellationToken.None);
        (await BlkidAsync(device, "UUID")).Should().NotBeEmpty();
        _log.Lines.Should().Contain(l => l.Contains("Formatting"));
    }
}
