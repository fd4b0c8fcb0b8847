using FluentAssertions;
using Trove.Guest.Agent.IO;
using Trove.Guest.Agent.Tests.Infrastructure;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>Prepare's copy of the datadir seed, on this host's file system: contents, holes, modes and times.</summary>
public sealed class SparseTreeCopyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tga-copy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTime Built = new(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);

    private string Seed()
    {
        var seed = Path.Combine(_dir, "seed");
        Directory.CreateDirectory(Path.Combine(seed, "mysql"));
        // A tablespace as the seed's: a little data at its start and in its middle, holes elsewhere, and a trailing hole.
        using (var f = new FileStream(Path.Combine(seed, "ibdata1"), FileMode.CreateNew))
        {
            f.Write(Enumerable.Repeat((byte)0xA5, 64 * 1024).ToArray());
            f.Position = 6L << 20;
            f.Write("middle page"u8);
            f.SetLength(12L << 20);
        }
        File.WriteAllText(Path.Combine(seed, "mysql", "db.frm"), "frm");
        File.WriteAllText(Path.Combine(seed, "mysql_upgrade_info"), "10.11.19-MariaDB");
        File.Create(Path.Combine(seed, "empty")).Dispose();
        File.SetUnixFileMode(Path.Combine(seed, "mysql", "db.frm"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        foreach (var file in Directory.EnumerateFiles(seed, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(file, Built);
        File.SetUnixFileMode(Path.Combine(seed, "mysql"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(seed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.SetLastWriteTimeUtc(Path.Combine(seed, "mysql"), Built);
        Directory.SetLastWriteTimeUtc(seed, Built);
        return seed;
    }

    [Fact]
    public async Task Copies_contents_modes_and_times_and_keeps_the_holes()
    {
        var seed = Seed();
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);

        SparseTreeCopy.CopyContents(seed, data);

        foreach (var file in Directory.EnumerateFiles(seed, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(data, Path.GetRelativePath(seed, file));
            File.ReadAllBytes(copy).Should().Equal(File.ReadAllBytes(file), copy);
            File.GetUnixFileMode(copy).Should().Be(File.GetUnixFileMode(file), copy);
            File.GetLastWriteTimeUtc(copy).Should().Be(Built, copy);
        }
        new FileInfo(Path.Combine(data, "ibdata1")).Length.Should().Be(12L << 20);
        (await DiskUsage.AllocatedBytesAsync(Path.Combine(data, "ibdata1"))).Should().BeLessThan(1L << 20, "the 12 MiB file holds about 68 KiB of data");
        File.GetUnixFileMode(Path.Combine(data, "mysql")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.GetLastWriteTimeUtc(Path.Combine(data, "mysql")).Should().Be(Built);
        // As cp -a SEED/. DATA: the folder itself takes the seed's mode and time.
        File.GetUnixFileMode(data).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.GetLastWriteTimeUtc(data).Should().Be(Built);
        File.Exists(Path.Combine(seed, "ibdata1")).Should().BeTrue("the seed is copied, not moved");
    }

    [Fact]
    public void A_link_in_the_seed_is_refused_and_not_followed()
    {
        var seed = Seed();
        var secret = Path.Combine(_dir, "secret");
        File.WriteAllText(secret, "not for the engine");
        File.CreateSymbolicLink(Path.Combine(seed, "zz-link"), secret);
        var data = Path.Combine(_dir, "data");

        var copy = () => SparseTreeCopy.CopyContents(seed, data);

        copy.Should().Throw<IOException>().WithMessage("*zz-link is a link*");
        Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Select(File.ReadAllText).Should().NotContain("not for the engine");
    }

    [Fact]
    public void An_existing_file_in_the_destination_is_never_overwritten()
    {
        var seed = Seed();
        var data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "mysql_upgrade_info"), "someone's");

        var copy = () => SparseTreeCopy.CopyContents(seed, data);

        copy.Should().Throw<IOException>();
        File.ReadAllText(Path.Combine(data, "mysql_upgrade_info")).Should().Be("someone's");
    }

    [Fact]
    public void A_missing_seed_is_a_clear_error() =>
        FluentActions.Invoking(() => SparseTreeCopy.CopyContents(Path.Combine(_dir, "nothing"), Path.Combine(_dir, "data")))
            .Should().Throw<DirectoryNotFoundException>().WithMessage("*nothing is not a folder*");
}
