using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Tests.Infrastructure;
using static Trove.Guest.Agent.Tests.Infrastructure.BackupDriver;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// create_backup and restoring prepare against real MariaDB (mariabackup), Swift and RabbitMQ: full and incremental
/// chains, restored into fresh instances whose table checksums must equal the source's at each point.
/// </summary>
public sealed class BackupTests(BrokerFixture broker, SwiftFixture swift) : IClassFixture<SwiftFixture>
{
    private async Task<string> RestoredChecksumsAsync(BackupOptions backup, JsonObject restoreInfo, JsonObject context)
    {
        await using var target = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        await target.PrepareAsync(new JsonObject { ["backup_info"] = restoreInfo.DeepClone() }, context: context);
        target.Conductor.Statuses.Should().Contain(ServiceStatus.Healthy);
        (await target.CallAsync("list_databases", new JsonObject { ["limit"] = null, ["marker"] = null, ["include_marker"] = false }))!
            .ToJsonString().Should().Contain("shop", "os_admin works on the restored data");
        return await target.SqlAsync(Tables);
    }

    [Fact]
    public async Task Full_and_incremental_backups_to_swift_restore_to_each_point_in_time()
    {
        var backup = new BackupOptions { Storage = BackupStorageKind.Swift, SegmentMaxSize = 1 << 20 };
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        await source.PrepareAsync();
        await SeedAsync(source);
        var context = swift.Context;

        var points = new List<(string Id, JsonObject Completed, string Checksums)>();
        JsonObject? parent = null;
        for (var round = 0; round < 3; round++)
        {
            if (round > 0) await ChangeAsync(source, round);
            var checksums = await source.SqlAsync(Tables);
            var id = $"b{round}-{Guid.NewGuid():N}"[..20];
            var completed = await BackupAsync(source, context, id, parent);
            completed["state"]!.GetValue<string>().Should().Be("COMPLETED", source.Log.Digest());
            points.Add((id, completed, checksums));
            parent = Parent(completed);
        }

        // What the conductor heard, in order, for the first backup.
        var states = source.Conductor.Received.Where(r => r.Method == "update_backup" && r.Args["backup_id"]!.GetValue<string>() == points[0].Id)
            .Select(r => r.Args["state"]!.GetValue<string>());
        states.Should().Equal("BUILDING", "SAVING", "COMPLETED");

        // Trove's layout: <id>.xbstream.zst in database_backups, an SLO of 1 MiB segments, Trove's metadata.
        var full = points[0].Completed;
        full["location"]!.GetValue<string>().Should().Be($"{swift.Swift.StorageUrl}/database_backups/{points[0].Id}.xbstream.zst");
        full["backup_type"]!.GetValue<string>().Should().Be("full");
        var (status, manifest) = await swift.Swift.GetAsync($"database_backups/{points[0].Id}.xbstream.zst?multipart-manifest=get");
        status.Should().Be(200);
        JsonNode.Parse(manifest)!.AsArray().Should().HaveCountGreaterThan(1, "a backup larger than backup_segment_max_size is segmented");
        var incremental = points[2].Completed;
        incremental["backup_type"]!.GetValue<string>().Should().Be("incremental");
        using (var http = new HttpClient())
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, incremental["location"]!.GetValue<string>());
            head.Headers.Add("X-Auth-Token", swift.Swift.Token);
            using var response = await http.SendAsync(head);
            response.Headers.GetValues("X-Object-Meta-Parent-Location").Single().Should().Be(points[1].Completed["location"]!.GetValue<string>());
            response.Headers.GetValues("X-Object-Meta-Lsn").Single().Should().MatchRegex("^[0-9]+$");
            response.Headers.GetValues("X-Object-Meta-Datastore").Single().Should().Be("mariadb");
            response.Headers.ETag!.Tag.Trim('"').Should().Be(incremental["checksum"]!.GetValue<string>());
        }

        foreach (var (id, completed, checksums) in points)
            (await RestoredChecksumsAsync(backup, RestoreInfo(id, completed), context)).Should().Be(checksums, $"restoring {id} gives the data at its point");

        // python3-trove's own code (trove.common.swift, the taskmanager's delete) reads our metadata and deletes the SLO completely.
        var trove = await PythonRpcClient.RunScriptAsync([Path.Combine(AppContext.BaseDirectory, "interop", "trove_backup_reader.py"),
            "--token", swift.Swift.Token, "--location", incremental["location"]!.GetValue<string>()]);
        trove.ExitCode.Should().Be(0, trove.Stderr);
        var read = JsonNode.Parse(trove.Stdout)!.AsObject();
        read["metadata"]!["parent_location"]!.GetValue<string>().Should().Be(points[1].Completed["location"]!.GetValue<string>());
        read["metadata"]!["parent_checksum"]!.GetValue<string>().Should().Be(points[1].Completed["checksum"]!.GetValue<string>());
        read["metadata"]!["lsn"]!.GetValue<string>().Should().MatchRegex("^[0-9]+$");
        read["metadata"]!["datastore_version"]!.GetValue<string>().Should().Be("10.11");
        read["remaining"]!.AsArray().Should().BeEmpty("Trove's delete removes the backup");
        var slo = await PythonRpcClient.RunScriptAsync([Path.Combine(AppContext.BaseDirectory, "interop", "trove_backup_reader.py"),
            "--token", swift.Swift.Token, "--location", full["location"]!.GetValue<string>()]);
        slo.ExitCode.Should().Be(0, slo.Stderr);
        JsonNode.Parse(slo.Stdout)!["remaining"]!.AsArray().Should().BeEmpty("Trove deletes a static large object with its segments");

        (await source.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();
    }

    public static TheoryData<BackupStorageKind, BackupCompressionKind, BackupEncryptionKind> Variants => new()
    {
        { BackupStorageKind.Local, BackupCompressionKind.Zstd, BackupEncryptionKind.AesGcm },
        { BackupStorageKind.Swift, BackupCompressionKind.Gzip, BackupEncryptionKind.OpenSslCbc },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Encrypted_chains_restore_in_every_store_and_format(BackupStorageKind storage, BackupCompressionKind compression, BackupEncryptionKind encryption)
    {
        var local = Directory.CreateTempSubdirectory("tgb-store-").FullName;
        try
        {
            var backup = new BackupOptions
            {
                Storage = storage, LocalDirectory = local, Compression = compression, Encryption = encryption,
                AesCbcKey = "trove-cbc-key", EncryptionKey = "our-gcm-secret",
            };
            await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
            await source.PrepareAsync();
            await SeedAsync(source);
            var full = await BackupAsync(source, swift.Context, "full-" + Guid.NewGuid().ToString("N")[..8]);
            full["state"]!.GetValue<string>().Should().Be("COMPLETED", source.Log.Digest());
            await ChangeAsync(source, 1);
            var expected = await source.SqlAsync(Tables);
            var inc = await BackupAsync(source, swift.Context, "inc-" + Guid.NewGuid().ToString("N")[..8], Parent(full));
            inc["state"]!.GetValue<string>().Should().Be("COMPLETED", source.Log.Digest());

            var suffix = BackupFormat(compression, encryption);
            inc["location"]!.GetValue<string>().Should().EndWith(suffix);
            if (storage == BackupStorageKind.Local)
            {
                var path = new Uri(inc["location"]!.GetValue<string>()).LocalPath;
                path.Should().StartWith(local);
                (await File.ReadAllBytesAsync(path)).AsSpan(0, 8).ToArray().Should().Equal("TGBGCM01"u8.ToArray(), "the stored bytes are ciphertext");
            }

            (await RestoredChecksumsAsync(backup, RestoreInfo("inc", inc), swift.Context)).Should().Be(expected);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    private static string BackupFormat(BackupCompressionKind compression, BackupEncryptionKind encryption) =>
        new Agent.Backups.BackupFormat(compression, encryption).ObjectName("");

    [Fact]
    public async Task An_unreachable_object_store_fails_the_backup_and_leaves_the_database_alone()
    {
        var backup = new BackupOptions { Storage = BackupStorageKind.Swift };
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        await source.PrepareAsync();
        await SeedAsync(source);
        var before = await source.SqlAsync(Tables);
        var context = swift.Context;
        context["service_catalog"]![0]!["endpoints"]![0]!["publicURL"] = $"http://127.0.0.1:{FreePorts.Find()}/v1/AUTH_test";

        var failed = await BackupAsync(source, context, "dead-" + Guid.NewGuid().ToString("N")[..8]);
        failed["state"]!.GetValue<string>().Should().Be("FAILED");
        failed["success"]!.GetValue<bool>().Should().BeFalse();
        failed["note"]!.GetValue<string>().Should().NotBeNullOrWhiteSpace();
        (await source.SqlAsync(Tables)).Should().Be(before);
        (await source.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();
        Directory.Exists(Path.Combine(source.Options.Guest.StateDir, "backups", failed["backup_id"]!.GetValue<string>())).Should().BeFalse();
    }

    [Fact]
    public async Task A_parent_whose_checksum_does_not_match_fails_the_incremental()
    {
        var backup = new BackupOptions { Storage = BackupStorageKind.Swift };
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        await source.PrepareAsync();
        var full = await BackupAsync(source, swift.Context, "p-" + Guid.NewGuid().ToString("N")[..8]);
        full["state"]!.GetValue<string>().Should().Be("COMPLETED");
        var parent = Parent(full);
        parent["checksum"] = new string('0', 32);
        var inc = await BackupAsync(source, swift.Context, "i-" + Guid.NewGuid().ToString("N")[..8], parent);
        inc["state"]!.GetValue<string>().Should().Be("FAILED");
        inc["note"]!.GetValue<string>().Should().Contain("checksum");
    }

    public static TheoryData<string> HostileLocations => new()
    {
        "{swift}/database_backups/../other/x.xbstream.zst",
        "{swift}/database_backups/sub/x.xbstream.zst",
        "http://127.0.0.1:1/v1/AUTH_other/database_backups/x.xbstream.zst",
        "ftp://example.org/database_backups/x.xbstream.zst",
        "file:///etc/shadow",
        "{swift}/database_backups/x.tar",
        "{valid}",
    };

    [Theory]
    [MemberData(nameof(HostileLocations))]
    public async Task Hostile_or_wrong_restore_locations_fail_prepare_and_start_nothing(string location)
    {
        var backup = new BackupOptions { Storage = BackupStorageKind.Swift };
        var valid = "";
        if (location == "{valid}")
        {
            // A real backup, but the checksum in the request is wrong.
            await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
            await source.PrepareAsync();
            valid = (await BackupAsync(source, swift.Context, "v-" + Guid.NewGuid().ToString("N")[..8]))["location"]!.GetValue<string>();
        }
        await using var target = await AgentUnderTest.StartAsync(broker.Url, configure: With(backup));
        var info = new JsonObject
        {
            ["id"] = "x", ["location"] = location.Replace("{swift}", swift.Swift.StorageUrl).Replace("{valid}", valid),
            ["type"] = "full", ["checksum"] = new string('a', 32),
        };
        await target.PrepareAsync(new JsonObject { ["backup_info"] = info }, expectFailure: true, context: swift.Context);
        target.Conductor.Statuses.Should().Contain(ServiceStatus.FailedToSpawn).And.NotContain(ServiceStatus.Healthy);
        (await target.Runtime.Engine.GetStateAsync(CancellationToken.None)).Should().NotBe(Engines.EngineState.Running);
        Directory.Exists(Path.Combine(target.Options.Datastore.MountPoint, "data.restoring")).Should().BeFalse();
    }
}
