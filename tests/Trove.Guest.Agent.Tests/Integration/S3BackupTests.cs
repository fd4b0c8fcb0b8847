using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;
using static Trove.Guest.Agent.Tests.Infrastructure.BackupDriver;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// Backups in an S3-compatible store (s3rver: multipart, metadata, a restored chain). s3rver does not verify
/// Signature V4 (its source says "unimplemented"): the signature is checked against AWS's published example in
/// <see cref="Unit.Backups.SigV4Tests"/>.
/// </summary>
public sealed class S3BackupTests(BrokerFixture broker)
{
    [Fact]
    public async Task A_chain_in_an_s3_store_restores_and_hostile_s3_locations_are_refused()
    {
        await using var s3 = await S3Service.StartAsync();
        var backup = new BackupOptions
        {
            Storage = BackupStorageKind.S3, S3Endpoint = s3.Endpoint, S3AccessKey = S3Service.AccessKey, S3SecretKey = S3Service.SecretKey,
            S3PartSize = 5 << 20, Compression = BackupCompressionKind.Gzip, CompressionLevel = 1,
        };
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        await source.PrepareAsync();
        await SeedAsync(source);
        // 12 MB that does not compress: the full backup takes several 5 MiB parts.
        await source.SqlAsync("""
            SET SESSION max_recursive_iterations = 100000;
            CREATE TABLE shop.blobs (id INT PRIMARY KEY, b VARBINARY(1024)) ENGINE=InnoDB;
            INSERT INTO shop.blobs WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 12000) SELECT seq, RANDOM_BYTES(1024) FROM s;
            """);
        var full = await BackupAsync(source, [], "s3full-" + Guid.NewGuid().ToString("N")[..8]);
        full["state"]!.GetValue<string>().Should().Be("COMPLETED", source.Log.Digest());
        full["location"]!.GetValue<string>().Should().MatchRegex(@"^s3://database-backups/s3full-[0-9a-f]{8}\.xbstream\.gz$");
        await ChangeAsync(source, 1);
        var expected = await source.SqlAsync(Tables);
        var inc = await BackupAsync(source, [], "s3inc-" + Guid.NewGuid().ToString("N")[..8], Parent(full));
        inc["state"]!.GetValue<string>().Should().Be("COMPLETED", source.Log.Digest());

        await using (var target = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup)))
        {
            await target.PrepareAsync(new JsonObject { ["backup_info"] = RestoreInfo("s3inc", inc) });
            (await target.SqlAsync(Tables)).Should().Be(expected);
        }

        await using var hostile = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        var info = RestoreInfo("x", inc);
        info["location"] = "s3://database-backups/../other/x.xbstream.gz";
        await hostile.PrepareAsync(new JsonObject { ["backup_info"] = info }, expectFailure: true);
        hostile.Log.Lines.Should().Contain(l => l.Contains("not s3://<bucket>/<object>"));
        var stored = "Stored " + full["location"]!.GetValue<string>().Replace("s3://", "") + ":";
        source.Log.Lines.Should().Contain(l => l.Contains(stored) && !l.EndsWith(" in 1 part(s)"), "a backup larger than one 5 MiB part is a multipart upload");
    }
}
