using System.Security.Cryptography;
using FluentAssertions;
using Trove.Guest.Agent.Backups;
using Trove.Guest.Agent.Backups.Storage;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Tests.Unit.Backups;

/// <summary>The local store (round trip, checksums, hostile locations) and backup object names.</summary>
public sealed class BackupStorageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tgb-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Func<CancellationToken, Task<IReadOnlyDictionary<string, string>>> Meta(params (string, string)[] pairs) =>
        _ => Task.FromResult<IReadOnlyDictionary<string, string>>(pairs.ToDictionary(p => p.Item1, p => p.Item2));

    [Fact]
    public async Task The_local_store_round_trips_with_an_md5_checksum_and_metadata()
    {
        var store = new LocalBackupStorage(_root);
        var data = RandomNumberGenerator.GetBytes(3_000_001);
        var saved = await store.SaveAsync("database_backups", "b1.xbstream.zst", new MemoryStream(data), Meta(("lsn", "42"), ("parent_location", "x")), default);

        saved.Checksum.Should().Be(Convert.ToHexStringLower(MD5.HashData(data)));
        saved.Size.Should().Be(data.Length);
        saved.Location.Should().StartWith("file://").And.EndWith("/database_backups/b1.xbstream.zst");
        var stat = await store.StatAsync(saved.Location, default);
        stat.Lsn.Should().Be("42");
        stat.ParentLocation.Should().Be("x");
        var back = new MemoryStream();
        await (await store.OpenReadAsync(saved.Location, saved.Checksum, default)).CopyToAsync(back);
        back.ToArray().Should().Equal(data);
    }

    [Fact]
    public async Task A_failed_producer_leaves_no_backup_behind()
    {
        var store = new LocalBackupStorage(_root);
        var act = () => store.SaveAsync("c", "b2.xbstream.zst", new MemoryStream([1, 2, 3]), _ => throw new InvalidOperationException("mariabackup failed"), default);
        await act.Should().ThrowAsync<InvalidOperationException>();
        Directory.GetFiles(Path.Combine(_root, "c")).Should().BeEmpty("neither the data nor a partial file nor metadata stays");
    }

    [Fact]
    public async Task Corrupted_local_data_is_detected_on_read()
    {
        var store = new LocalBackupStorage(_root);
        var saved = await store.SaveAsync("c", "b3.xbstream.zst", new MemoryStream(RandomNumberGenerator.GetBytes(10_000)), Meta(), default);
        var path = new Uri(saved.Location).LocalPath;
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[5000] ^= 0xff;
        await File.WriteAllBytesAsync(path, bytes);
        var act = async () => await (await store.OpenReadAsync(saved.Location, saved.Checksum, default)).CopyToAsync(Stream.Null);
        await act.Should().ThrowAsync<InvalidDataException>().WithMessage("*corrupt*");
        var wrong = () => store.OpenReadAsync(saved.Location, new string('0', 32), default);
        await wrong.Should().ThrowAsync<InvalidDataException>().WithMessage("*checksum mismatch*");
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("file://{root}/../../etc/passwd")]
    [InlineData("file://{root}/c/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("file://{root}/c/sub/deeper.xbstream.zst")]
    [InlineData("ftp://example.org/c/b.xbstream.zst")]
    [InlineData("/plain/path")]
    public async Task Hostile_local_locations_are_refused(string location)
    {
        var store = new LocalBackupStorage(_root);
        var act = () => store.StatAsync(location.Replace("{root}", _root), default);
        await act.Should().ThrowAsync<BackupLocationException>();
    }

    [Theory]
    [InlineData("b.xbstream.zst", BackupCompressionKind.Zstd, BackupEncryptionKind.None)]
    [InlineData("b.xbstream.gz", BackupCompressionKind.Gzip, BackupEncryptionKind.None)]
    [InlineData("b.xbstream.gz.enc", BackupCompressionKind.Gzip, BackupEncryptionKind.OpenSslCbc)]
    [InlineData("b.xbstream.zst.gcm", BackupCompressionKind.Zstd, BackupEncryptionKind.AesGcm)]
    public void Object_names_round_trip_their_format(string name, BackupCompressionKind compression, BackupEncryptionKind encryption)
    {
        var format = BackupFormat.FromObjectName(name);
        format.Should().Be(new BackupFormat(compression, encryption));
        format.ObjectName("b").Should().Be(name);
    }

    [Theory]
    [InlineData("b.gz.enc")]
    [InlineData("b.tar.gz")]
    [InlineData("b.xbstream")]
    [InlineData("b.xbstream.bz2")]
    public void Unknown_formats_are_refused(string name) =>
        FluentActions.Invoking(() => BackupFormat.FromObjectName(name)).Should().Throw<InvalidDataException>();
}
