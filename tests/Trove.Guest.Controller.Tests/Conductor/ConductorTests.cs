using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Conductor;

/// <summary>
/// The conductor against a real RabbitMQ of this class's own (a test restarts it) and a real SQLite state database, fed
/// by python3-trove's own guest code, the shared oslo.messaging reference client, and our client with Trove's guest
/// serializer.
/// </summary>
public sealed class ConductorTests(BrokerFixture broker) : IClassFixture<BrokerFixture>, IAsyncLifetime
{
    private const string Key = "0123456789ABCDEFabcdefGHIJKLMNOP";
    private ConductorHarness _h = null!;

    /// <summary>A guest's <c>sent</c>: epoch seconds with microseconds, as <c>timeutils.utcnow_ts(microsecond=True)</c>.</summary>
    private static readonly double T0 = Math.Round((DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds, 6);

    public async ValueTask InitializeAsync() => _h = await ConductorHarness.StartAsync(broker.Url);

    public async ValueTask DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Heartbeats_from_the_python_guest_update_the_status_in_order_and_an_older_one_is_dropped()
    {
        var id = await _h.CreateInstanceAsync();

        await _h.RunPythonGuestAsync(id, key: null, [
            new JsonObject { ["do"] = "heartbeat", ["status"] = "building", ["sent"] = T0 },
            new JsonObject { ["do"] = "heartbeat", ["status"] = "healthy", ["sent"] = T0 + 2.000001 },
            // Reports are handled concurrently: let the newer one land first, as it would a minute apart.
            new JsonObject { ["do"] = "pause", ["seconds"] = 0.3 },
            new JsonObject { ["do"] = "heartbeat", ["status"] = "shutdown", ["sent"] = T0 + 1 },
        ]);
        await _h.WaitHandledAsync(3);

        var instance = await _h.InstanceAsync(id);
        instance.ServiceStatus.Should().Be("healthy", _h.Log.Digest());
        instance.LastHeartbeatSent.Should().Be((long)Math.Round((T0 + 2.000001) * 1e6));
        instance.LastHeartbeatAt!.Value.Should().BeCloseTo(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 10_000);
        _h.Log.Lines.Should().Contain(l => l.Contains("Heartbeat (shutdown) from instance " + id) && l.Contains("older"));
    }

    [Fact]
    public async Task Restart_required_sticks_and_an_unknown_status_is_refused()
    {
        var sticky = await _h.CreateInstanceAsync(status: InstanceServiceStatus.Healthy);
        var other = await _h.CreateInstanceAsync(status: InstanceServiceStatus.Healthy);

        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(sticky, "restart required", T0));
        await _h.WaitHandledAsync(1);
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(sticky, "healthy", T0 + 1));
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(other, "sleeping", T0));
        await _h.WaitHandledAsync(3);

        (await _h.InstanceAsync(sticky)).ServiceStatus.Should().Be("restart required");
        var unchanged = await _h.InstanceAsync(other);
        unchanged.ServiceStatus.Should().Be("healthy");
        unchanged.LastHeartbeatAt.Should().BeNull("nothing of a refused heartbeat is saved");
        _h.Log.Lines.Should().Contain(l => l.Contains("Warning") && l.Contains($"instance {other} reported an unknown service status 'sleeping'"));
    }

    [Fact]
    public async Task An_encrypted_heartbeat_is_read_with_the_instance_key_and_anything_else_for_that_instance_is_refused()
    {
        // Created after the conductor started: its key is looked up when its first report comes.
        var id = await _h.CreateInstanceAsync(rpcKey: Key);
        var stranger = await _h.CreateInstanceAsync(rpcKey: "another instance's key, 32 chars");

        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "healthy", T0), Key, id);
        await _h.WaitHandledAsync(1);
        (await _h.InstanceAsync(id)).ServiceStatus.Should().Be("healthy", _h.Log.Digest());

        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "shutdown", T0 + 1), "not the instance's key at all!!!", id);
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "crashed", T0 + 2));
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "paused", T0 + 3), "another instance's key, 32 chars", stranger);
        await _h.WaitHandledAsync(4);

        var instance = await _h.InstanceAsync(id);
        instance.ServiceStatus.Should().Be("healthy", "a wrong key, plain text and another instance's key are all refused");
        instance.LastHeartbeatSent.Should().Be((long)Math.Round(T0 * 1e6));
        var log = _h.Log.Lines;
        log.Should().Contain(l => l.Contains("could not be decrypted"));
        log.Should().Contain(l => l.Contains($"instance {id} has an RPC key, and this report was not encrypted"));
        log.Should().Contain(l => l.Contains($"instance {stranger} reported for another instance"));
    }

    [Fact]
    public async Task Backup_root_and_notifications_from_the_python_guest_are_recorded_encrypted()
    {
        var id = await _h.CreateInstanceAsync(rpcKey: Key);
        var backupId = await _h.CreateBackupAsync(id);
        var waiting = _h.Reports.WaitForBackupAsync(backupId, TimeSpan.FromSeconds(60), CancellationToken.None);
        var location = $"http://127.0.0.1:8080/v1/AUTH_alpha/database_backups/{backupId}.xbstream.gz.enc";

        await _h.RunPythonGuestAsync(id, Key, [
            new JsonObject { ["do"] = "update_backup", ["sent"] = T0, ["fields"] = new JsonObject
            {
                ["backup_id"] = backupId, ["size"] = 0.5, ["state"] = "BUILDING", ["backup_type"] = "full",
            } },
            new JsonObject { ["do"] = "update_backup", ["sent"] = T0 + 1, ["fields"] = new JsonObject { ["backup_id"] = backupId, ["state"] = "SAVING" } },
            new JsonObject { ["do"] = "update_backup", ["sent"] = T0 + 2, ["fields"] = new JsonObject
            {
                ["backup_id"] = backupId, ["size"] = 0.01, ["state"] = "COMPLETED", ["backup_type"] = "full",
                ["checksum"] = "5090a450c63efdac99ba33fc311c991d", ["location"] = location, ["success"] = true,
            } },
            new JsonObject { ["do"] = "report_root" },
            new JsonObject { ["do"] = "notify_end", ["context"] = ConductorHarness.NotificationContext("req-create-1") },
            new JsonObject { ["do"] = "notify_exc_info", ["context"] = ConductorHarness.NotificationContext("req-create-2"),
                ["message"] = "Failed to create user alice: disk full" },
        ]);
        await _h.WaitHandledAsync(6);

        var completed = await waiting;
        completed.Should().Be(new TaskManager.Replication.CompletedBackup(backupId, location, "5090a450c63efdac99ba33fc311c991d", "full"));
        var backup = await _h.BackupAsync(backupId);
        backup.State.Should().Be(BackupState.Completed);
        backup.SizeGb.Should().Be(0.01);

        var instance = await _h.InstanceAsync(id);
        instance.RootEnabledAt.Should().NotBeNull(_h.Log.Digest());
        instance.Fault.Should().Be("Failed to create user alice: disk full");
        var ended = await _h.Reports.WaitForNotificationAsync("req-create-1", TimeSpan.FromSeconds(5), CancellationToken.None);
        ended.Should().BeEquivalentTo(new { RequestId = "req-create-1", InstanceId = id, Method = "notify_end", Failed = false });
        var failed = await _h.Reports.WaitForNotificationAsync("req-create-2", TimeSpan.FromSeconds(5), CancellationToken.None);
        failed.Should().BeEquivalentTo(new { InstanceId = id, Method = "notify_exc_info", Message = "Failed to create user alice: disk full", Failed = true });
    }

    [Fact]
    public async Task A_late_backup_report_does_not_regress_it_and_another_instances_backup_is_left_alone()
    {
        var id = await _h.CreateInstanceAsync();
        var owner = await _h.CreateInstanceAsync();
        var mine = await _h.CreateBackupAsync(id);
        var theirs = await _h.CreateBackupAsync(owner);
        JsonObject Update(string backup, string state, double sent, JsonObject? more = null)
        {
            var args = new JsonObject { ["instance_id"] = id, ["backup_id"] = backup, ["sent"] = sent, ["state"] = state };
            foreach (var (k, v) in more ?? []) args[k] = v?.DeepClone();
            return args;
        }

        await _h.CastAsync("update_backup", Update(mine, "BUILDING", T0, new JsonObject { ["size"] = 1, ["backup_type"] = "incremental" }));
        await _h.WaitHandledAsync(1);
        (await _h.BackupAsync(mine)).State.Should().Be("BUILDING");
        await _h.CastAsync("update_backup", Update(mine, "COMPLETED", T0 + 2, new JsonObject { ["location"] = "file:///b/x.xbstream.zst", ["checksum"] = "abc" }));
        await _h.WaitHandledAsync(2);
        // Newer sent, so it passes the sequence; it still must not reopen a finished backup.
        await _h.CastAsync("update_backup", Update(mine, "SAVING", T0 + 3));
        await _h.WaitHandledAsync(3);
        // An older sent than the last report of this instance: dropped by the sequence.
        await _h.CastAsync("update_backup", Update(mine, "FAILED", T0 + 1, new JsonObject { ["note"] = "late" }));
        await _h.CastAsync("update_backup", Update(theirs, "FAILED", T0 + 4, new JsonObject { ["note"] = "not yours" }));
        await _h.CastAsync("update_backup", Update(mine, "SHELVED", T0 + 5));
        await _h.WaitHandledAsync(6);

        var backup = await _h.BackupAsync(mine);
        backup.Should().BeEquivalentTo(new { State = "COMPLETED", Location = "file:///b/x.xbstream.zst", Checksum = "abc", BackupType = "incremental", SizeGb = 1.0 },
            _h.Log.Digest());
        (await _h.BackupAsync(theirs)).Should().BeEquivalentTo(new { State = "NEW", Note = (string?)null });
        _h.Log.Lines.Should().Contain(l => l.Contains($"backup {theirs} is not one of that instance's"));
        _h.Log.Lines.Should().Contain(l => l.Contains("unknown state 'SHELVED'"));
    }

    [Fact]
    public async Task Malformed_reports_are_dropped_and_a_later_heartbeat_is_still_processed()
    {
        var id = await _h.CreateInstanceAsync();

        // The shared oslo.messaging reference client: a cast with no instance_id at all.
        var peer = await PythonRpcClient.RunAsync(_h.Url, _h.Topic, "--cast", "--version", "1.0", "--method", "heartbeat",
            "--args", """{"sent": 1.5, "payload": {"service_status": "healthy"}}""");
        peer.ExitCode.Should().Be(0, peer.Stderr);
        await _h.CastAsync("heartbeat", new JsonObject { ["instance_id"] = id, ["sent"] = T0, ["payload"] = "healthy" });
        await _h.CastAsync("heartbeat", new JsonObject { ["instance_id"] = 42, ["payload"] = new JsonObject { ["service_status"] = "healthy" } });
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "healthy", T0));
        await _h.CastAsync("update_backup", new JsonObject { ["instance_id"] = id, ["backup_id"] = "b", ["sent"] = "yesterday" });
        await _h.CastAsync("update_backup", new JsonObject { ["instance_id"] = id, ["backup_id"] = "b", ["size"] = "big" });
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "crashed", 1e300));
        await _h.CastAsync("notify_end", new JsonObject { ["serialized_notification"] = new JsonArray(), ["notification_args"] = new JsonObject() });
        await _h.CastAsync("notify_exc_info", new JsonObject { ["serialized_notification"] = new JsonObject { ["instance_id"] = id }, ["message"] = "x" });
        await _h.CastAsync("no_such_method", new JsonObject { ["instance_id"] = id });
        await _h.WaitHandledAsync(10);
        (await _h.InstanceAsync(id)).ServiceStatus.Should().Be("healthy", "the valid heartbeat among them was saved");

        // A report after all of them is still processed.
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "shutdown", T0 + 1));
        await _h.WaitHandledAsync(11);

        var instance = await _h.InstanceAsync(id);
        instance.ServiceStatus.Should().Be("shutdown", _h.Log.Digest());
        instance.Fault.Should().BeNull("a failure notification without a request id is dropped whole");
        var refused = _h.Log.Lines.Where(l => l.Contains("Dropped")).ToList();
        refused.Should().HaveCount(8, _h.Log.Digest(30));
        refused.Should().Contain(l => l.Contains("'instance_id' is missing"));
        refused.Should().Contain(l => l.Contains("'payload' is text, not an object"));
        refused.Should().Contain(l => l.Contains("'instance_id' is a number, not text"));
        refused.Should().Contain(l => l.Contains("'sent' is text, not a number"));
        refused.Should().Contain(l => l.Contains("'sent' is not a time"));
        refused.Should().Contain(l => l.Contains("'serialized_notification' is an array, not an object"));
        refused.Should().Contain(l => l.Contains("'serialized_notification' has no request_id"));
    }

    [Fact]
    public async Task Stored_reports_wait_for_the_end_of_prepare_a_failed_backup_and_a_notification()
    {
        var id = await _h.CreateInstanceAsync();
        var prepare = _h.Reports.WaitForPrepareEndAsync(id, TimeSpan.FromSeconds(20), CancellationToken.None);
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "building", T0));
        await _h.WaitHandledAsync(1);
        await Task.Delay(100);
        prepare.IsCompleted.Should().BeFalse("'building' is the start of prepare, not its end");
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "failed to spawn", T0 + 1));
        (await prepare).Should().Be("failed to spawn");

        var backupId = await _h.CreateBackupAsync(id);
        var backup = _h.Reports.WaitForBackupAsync(backupId, TimeSpan.FromSeconds(20), CancellationToken.None);
        await _h.CastAsync("update_backup", new JsonObject
        {
            ["instance_id"] = id, ["backup_id"] = backupId, ["sent"] = T0, ["state"] = "FAILED", ["success"] = false, ["note"] = "xbstream died",
        });
        await FluentActions.Awaiting(() => backup).Should().ThrowAsync<InvalidOperationException>().WithMessage($"backup {backupId} failed: xbstream died");

        var silent = await _h.CreateInstanceAsync(status: InstanceServiceStatus.Building);
        await FluentActions.Awaiting(() => _h.Reports.WaitForPrepareEndAsync(silent, TimeSpan.FromMilliseconds(200), CancellationToken.None))
            .Should().ThrowAsync<TimeoutException>();
        await FluentActions.Awaiting(() => _h.Reports.WaitForNotificationAsync("req-never", TimeSpan.FromMilliseconds(200), CancellationToken.None))
            .Should().ThrowAsync<TimeoutException>();
        await FluentActions.Awaiting(() => _h.Reports.WaitForBackupAsync("no-such-backup", TimeSpan.FromSeconds(5), CancellationToken.None))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*does not exist*");

        var notified = _h.Reports.WaitForNotificationAsync("req-resize-9", TimeSpan.FromSeconds(20), CancellationToken.None);
        await _h.CastAsync("notify_end", new JsonObject
        {
            ["serialized_notification"] = new JsonObject { ["request_id"] = "req-resize-9", ["instance_id"] = id }, ["notification_args"] = new JsonObject(),
        });
        (await notified).Should().BeEquivalentTo(new { RequestId = "req-resize-9", InstanceId = id, Method = "notify_end" });
    }

    [Fact]
    public async Task A_wait_reads_again_as_soon_as_the_conductor_in_this_process_stores_a_report()
    {
        // A poll so slow that only the state database's signal can end these waits within the test's limits.
        var id = await _h.CreateInstanceAsync(status: InstanceServiceStatus.Building);
        var reports = new StoredGuestReports(_h.Instances, _h.Backups, _h.Notifications, TimeSpan.FromMinutes(5), _h.Db.Changes);
        var prepare = reports.WaitForPrepareEndAsync(id, TimeSpan.FromMinutes(10), CancellationToken.None);
        var notified = reports.WaitForNotificationAsync("req-wake", TimeSpan.FromMinutes(10), CancellationToken.None);
        await Task.Delay(300);
        prepare.IsCompleted.Should().BeFalse();

        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "healthy", T0));
        (await prepare.WaitAsync(TimeSpan.FromSeconds(20))).Should().Be("healthy");
        notified.IsCompleted.Should().BeFalse("a heartbeat wakes the wait, which reads again and finds no notification");
        await _h.CastAsync("notify_end", new JsonObject
        {
            ["serialized_notification"] = new JsonObject { ["request_id"] = "req-wake", ["instance_id"] = id }, ["notification_args"] = new JsonObject(),
        });
        (await notified.WaitAsync(TimeSpan.FromSeconds(20))).Method.Should().Be("notify_end");
    }

    [Fact]
    public async Task The_conductor_keeps_serving_after_the_broker_restarts()
    {
        var id = await _h.CreateInstanceAsync();
        await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "building", T0));
        await _h.WaitHandledAsync(1);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The RabbitMQ application restarts inside its running node (seconds, where a cold node start takes ~20 s): every
        // connection drops and the node forgets the non-durable queues oslo declares, as after a broker restart.
        await broker.Broker.CtlAsync("stop_app");
        var stopped = clock.Elapsed;
        await broker.Broker.CtlAsync("start_app");
        var started = clock.Elapsed;

        // Casts sent while the conductor is still reconnecting may be lost (a guest's next heartbeat comes a minute
        // later); keep sending, as a guest does, until one lands.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var sent = T0;
        while ((await _h.InstanceAsync(id)).ServiceStatus != "healthy")
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the conductor should consume again after the restart\n" + _h.Log.Digest());
            sent += 1;
            try
            {
                await _h.CastAsync("heartbeat", ConductorHarness.Heartbeat(id, "healthy", sent));
            }
            catch (Exception)
            {
                // Our sender is reconnecting too.
            }
            await Task.Delay(250);
        }
        _h.Log.Lines.Should().Contain(l => l.Contains("AMQP connection to") && l.Contains("recovered (rpc server " + _h.Topic));
        TestContext.Current.SendDiagnosticMessage($"stop {stopped}, start {started}, consuming again {clock.Elapsed}");
    }
}
