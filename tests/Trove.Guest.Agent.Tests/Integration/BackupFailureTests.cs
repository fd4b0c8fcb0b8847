using System.Net;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Tests.Infrastructure;
using Trove.Guest.Testing;
using static Trove.Guest.Agent.Tests.Infrastructure.BackupDriver;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// What goes wrong during backups and restores: the tool killed, the object store gone mid-upload, the agent dying,
/// a full disk while restoring. The backup is reported failed (never completed), nothing half-written stays visible,
/// the source database is untouched and a half-restored datadir is never started.
/// </summary>
public sealed class BackupFailureTests(BrokerFixture broker, SwiftFixture swift) : IClassFixture<SwiftFixture>
{
    private static readonly BackupOptions SwiftBackups = new() { Storage = BackupStorageKind.Swift, SegmentMaxSize = 1 << 20 };

    private static async Task<List<string>> ObjectsAsync(SwiftService service, string prefix)
    {
        var (status, body) = await service.GetAsync($"database_backups?format=json&prefix={prefix}");
        return status == (int)HttpStatusCode.NotFound ? [] : JsonNode.Parse(body)!.AsArray().Select(o => o!["name"]!.GetValue<string>()).ToList();
    }

    [Fact]
    public async Task Killing_the_backup_tool_mid_stream_fails_the_backup_and_leaves_nothing()
    {
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(SwiftBackups));
        await source.PrepareAsync();
        await SeedAsync(source);
        var before = await source.SqlAsync(Tables);
        var id = "kill-" + Guid.NewGuid().ToString("N")[..8];

        var backup = BackupAsync(source, swift.Context, id);
        var tool = await ChildProcesses.WaitForAsync("mariadb-backup", source.Root, TimeSpan.FromSeconds(60));
        await ChildProcesses.SignalAsync(tool, "STOP"); // frozen mid-stream, then killed: no race with a fast backup
        await ChildProcesses.SignalAsync(tool, "KILL");
        var final = await backup;

        final["state"]!.GetValue<string>().Should().Be("FAILED");
        final["note"]!.GetValue<string>().Should().Contain("mariadb-backup failed");
        (await ObjectsAsync(swift.Swift, id)).Should().BeEmpty("the segments written before the kill are deleted and no manifest was made");
        (await source.SqlAsync(Tables)).Should().Be(before);
        source.Conductor.Statuses.Last().Should().Be(ServiceStatus.Healthy);
    }

    [Fact]
    public async Task Swift_stopping_mid_upload_fails_the_backup_and_the_database_keeps_running()
    {
        await using var ownSwift = await SwiftService.StartAsync();
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(SwiftBackups));
        await source.PrepareAsync();
        await SeedAsync(source);
        var before = await source.SqlAsync(Tables);

        var backup = BackupAsync(source, SwiftContext(ownSwift), "gone-" + Guid.NewGuid().ToString("N")[..8]);
        var tool = await ChildProcesses.WaitForAsync("mariadb-backup", source.Root, TimeSpan.FromSeconds(60));
        await ChildProcesses.SignalAsync(tool, "STOP");
        await ownSwift.DisposeAsync();
        await ChildProcesses.SignalAsync(tool, "CONT");
        var final = await backup;

        final["state"]!.GetValue<string>().Should().Be("FAILED");
        final["success"]!.GetValue<bool>().Should().BeFalse();
        (await source.SqlAsync(Tables)).Should().Be(before);
        (await source.CallAsync("rpc_ping"))!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task A_backup_of_a_stopped_database_fails_clearly()
    {
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(SwiftBackups));
        await source.PrepareAsync();
        await source.CallAsync("stop_db");
        var final = await BackupAsync(source, swift.Context, "stopped-" + Guid.NewGuid().ToString("N")[..8]);
        final["state"]!.GetValue<string>().Should().Be("FAILED");
        final["note"]!.GetValue<string>().Should().Contain("stopped");
    }

    [Fact]
    public async Task A_backup_cut_short_by_the_agent_dying_is_reported_failed_when_it_comes_back()
    {
        // What a SIGKILLed agent leaves: the backup's work directory in state_dir. The next start reports it failed.
        await using var first = await AgentUnderTest.StartAsync(broker.Url);
        var work = Path.Combine(first.Options.Guest.StateDir, "backups", "died-1");
        Directory.CreateDirectory(work);
        await File.WriteAllTextAsync(Path.Combine(work, "container"), "database_backups");
        await first.Runtime.DisposeAsync();
        var restarted = new Hosting.AgentRuntime(first.Options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using (restarted)
        {
            await restarted.StartAsync(CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && !first.Conductor.Received.Any(r => r.Method == "update_backup")) await Task.Delay(50);
        }
        var update = first.Conductor.Received.Single(r => r.Method == "update_backup");
        update.Args["backup_id"]!.GetValue<string>().Should().Be("died-1");
        update.Args["state"]!.GetValue<string>().Should().Be("FAILED");
        Directory.Exists(work).Should().BeFalse();
    }

    [Fact]
    public async Task A_full_disk_during_restore_fails_prepare_and_starts_nothing()
    {
        await using var source = await AgentUnderTest.StartAsync(broker.Url, configure: With(SwiftBackups));
        await source.PrepareAsync();
        await SeedAsync(source);
        var full = await BackupAsync(source, swift.Context, "big-" + Guid.NewGuid().ToString("N")[..8]);
        full["state"]!.GetValue<string>().Should().Be("COMPLETED");

        await using var target = await AgentUnderTest.StartAsync(broker.Url, configure: With(SwiftBackups));
        var device = Path.Combine(target.Root, "small.img");
        await using (var f = File.Create(device)) f.SetLength(24L * 1024 * 1024);
        await target.PrepareAsync(new JsonObject { ["device_path"] = device, ["backup_info"] = RestoreInfo("big", full) },
            expectFailure: true, context: swift.Context);

        target.Conductor.Statuses.Should().Contain(ServiceStatus.FailedToSpawn).And.NotContain(ServiceStatus.Healthy);
        (await target.Runtime.Engine.GetStateAsync(CancellationToken.None)).Should().NotBe(Engines.EngineState.Running);
        var mount = target.Options.Datastore.MountPoint;
        Directory.Exists(Path.Combine(mount, "data.restoring")).Should().BeFalse("the half-restored copy is removed");
        target.Log.Lines.Should().Contain(l => l.Contains("No space left", StringComparison.OrdinalIgnoreCase) || l.Contains("ENOSPC", StringComparison.Ordinal)
            || l.Contains("Errcode: 28", StringComparison.Ordinal), target.Log.Digest());
    }

    [Fact]
    public async Task A_backup_written_the_way_trove_writes_it_restores()
    {
        // Trove's layout (guest-contract §6.4): mariabackup | gzip, one segment <id>_00000000 streamed to Swift, copied to
        // <id>.xbstream.gz with the metadata headers, the segment deleted; checksum = the object's ETag.
        await using var source = await AgentUnderTest.StartAsync(broker.Url);
        await source.PrepareAsync();
        await SeedAsync(source);
        var expected = await source.SqlAsync(Tables);
        var id = Guid.NewGuid().ToString();
        var stream = Path.Combine(source.Root, "trove.xbstream.gz");
        var cnf = Path.Combine(source.Options.Datastore.MountPoint, "conf.d", "os_admin.cnf");
        var shell = await CliWrap.Cli.Wrap("bash").WithArguments(["-c",
            $"set -o pipefail; mariabackup --defaults-extra-file={cnf} --backup --stream=xbstream --socket={source.Options.Guest.EngineSocket} " +
            $"--datadir={source.Options.Datastore.MountPoint}/data --extra-lsndir={source.Root}/lsn 2>{source.Root}/mb.log | gzip > {stream}"])
            .WithValidation(CliWrap.CommandResultValidation.None).ExecuteAsync();
        shell.ExitCode.Should().Be(0, await File.ReadAllTextAsync(Path.Combine(source.Root, "mb.log")));
        var lsn = File.ReadLines(Path.Combine(source.Root, "lsn", "xtrabackup_checkpoints")).First(l => l.StartsWith("to_lsn")).Split('=')[1].Trim();

        using var http = new HttpClient();
        async Task<HttpResponseMessage> Send(HttpMethod method, string path, HttpContent? content = null, params (string, string)[] headers)
        {
            var request = new HttpRequestMessage(method, $"{swift.Swift.StorageUrl}/{path}") { Content = content };
            request.Headers.Add("X-Auth-Token", swift.Swift.Token);
            foreach (var (k, v) in headers) request.Headers.Add(k, v);
            var response = await http.SendAsync(request);
            response.IsSuccessStatusCode.Should().BeTrue($"{method} {path}: {(int)response.StatusCode}");
            return response;
        }
        await Send(HttpMethod.Put, "database_backups");
        await Send(HttpMethod.Put, $"database_backups/{id}_00000000", new StreamContent(File.OpenRead(stream)));
        var copy = await Send(HttpMethod.Put, $"database_backups/{id}.xbstream.gz", new ByteArrayContent([]),
            ("X-Copy-From", $"database_backups/{id}_00000000"), ("X-Object-Meta-datastore", "mariadb"),
            ("X-Object-Meta-datastore-version", "10.11"), ("X-Object-Meta-lsn", lsn));
        var checksum = copy.Headers.GetValues("Etag").Single().Trim('"'); // Swift sends it unquoted on a copy
        await Send(HttpMethod.Delete, $"database_backups/{id}_00000000");

        await using var target = await AgentUnderTest.StartAsync(broker.Url);
        await target.PrepareAsync(new JsonObject
        {
            ["backup_info"] = new JsonObject
            {
                ["id"] = id, ["instance_id"] = "source", ["location"] = $"{swift.Swift.StorageUrl}/database_backups/{id}.xbstream.gz",
                ["type"] = "full", ["checksum"] = checksum,
            },
        }, context: swift.Context);
        (await target.SqlAsync(Tables)).Should().Be(expected);
    }
}
