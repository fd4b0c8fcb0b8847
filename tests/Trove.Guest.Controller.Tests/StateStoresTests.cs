using FluentAssertions;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;
using Trove.Guest.State.Tasks;

namespace Trove.Guest.Controller.Tests;

/// <summary>
/// The stores the API, conductor and flows use, on both providers (a SQLite file and a real PostgreSQL database): the
/// same SQL must mean the same thing on each (parameter types, NULLs, conditional updates).
/// </summary>
public sealed class StateStoresTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-stores-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(StateDatabase Database, string Project, string Version)> FreshAsync(StateProvider provider)
    {
        var name = "s" + Guid.NewGuid().ToString("N")[..12];
        var database = provider == StateProvider.Sqlite
            ? StateDatabase.Sqlite(Path.Combine(_dir, name + ".sqlite"))
            : StateDatabase.Postgres(await postgres.Server.CreateDatabaseAsync(name));
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var project = await new IdentityStore(database).CreateProjectAsync("p", CancellationToken.None);
        await new FlavorStore(database).AddAsync(new Flavor("1", "small", 512, 1, 0), CancellationToken.None);
        var datastores = new DatastoreStore(database);
        var version = await datastores.AddVersionAsync(await datastores.AddAsync("mariadb", CancellationToken.None), "10.11", "10.11", "mariadb", null, null, true,
            CancellationToken.None);
        return (database, project, version);
    }

    private static InstanceRecord Instance(string project, string version, string? replicaOf = null) => new()
    {
        Id = Guid.NewGuid().ToString(), ProjectId = project, Name = "i", FlavorId = "1", VolumeSizeGb = 1, DatastoreVersionId = version, ReplicaOf = replicaOf,
    };

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task Instances_take_heartbeats_in_order_and_one_task_at_a_time(StateProvider provider)
    {
        var (database, project, version) = await FreshAsync(provider);
        var instances = new InstanceStore(database);
        var source = await instances.CreateAsync(Instance(project, version), CancellationToken.None);
        await instances.CreateAsync(Instance(project, version, source.Id), CancellationToken.None);

        (await instances.RecordHeartbeatAsync(source.Id, "healthy", 2_000_000, CancellationToken.None)).Should().BeTrue();
        (await instances.RecordHeartbeatAsync(source.Id, "shutdown", 1_000_000, CancellationToken.None)).Should().BeFalse("it is older");
        (await instances.RecordHeartbeatAsync(source.Id, "running", null, CancellationToken.None)).Should().BeTrue("a heartbeat without sent is kept");
        await instances.SetServiceStatusAsync(source.Id, InstanceServiceStatus.RestartRequired, CancellationToken.None);
        (await instances.RecordHeartbeatAsync(source.Id, "healthy", 3_000_000, CancellationToken.None)).Should().BeFalse("restart required sticks");

        (await instances.TryBeginTaskAsync(source.Id, InstanceTaskStatus.Rebooting, CancellationToken.None)).Should().BeFalse("it is still BUILDING");
        await instances.SetTaskStatusAsync(source.Id, InstanceTaskStatus.None, CancellationToken.None);
        (await instances.TryBeginTaskAsync(source.Id, InstanceTaskStatus.Rebooting, CancellationToken.None)).Should().BeTrue();
        (await instances.TryBeginTaskAsync(source.Id, InstanceTaskStatus.Resizing, CancellationToken.None)).Should().BeFalse();
        await instances.SetConfigurationAsync(source.Id, null, CancellationToken.None);

        (await instances.ListAsync(project, CancellationToken.None)).Should().HaveCount(2);
        (await instances.ListAsync("another", CancellationToken.None)).Should().BeEmpty();
        (await instances.ReplicasOfAsync(source.Id, CancellationToken.None)).Should().ContainSingle();
        (await instances.GetAsync(source.Id, "another", CancellationToken.None)).Should().BeNull();
        await instances.MarkDeletedAsync(source.Id, CancellationToken.None);
        (await instances.GetAsync(source.Id, project, CancellationToken.None)).Should().BeNull();
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task Backups_take_guest_reports_and_keep_a_final_state(StateProvider provider)
    {
        var (database, project, version) = await FreshAsync(provider);
        var instance = await new InstanceStore(database).CreateAsync(Instance(project, version), CancellationToken.None);
        var backups = new BackupStore(database);
        var backup = await backups.CreateAsync(new BackupRecord { Id = Guid.NewGuid().ToString(), ProjectId = project, InstanceId = instance.Id, Name = "b",
            DatastoreVersionId = version }, CancellationToken.None);
        (await backups.ApplyGuestUpdateAsync(backup.Id, instance.Id, new BackupUpdate("COMPLETED", "swift://x", "abc", "full", 0.25, null), CancellationToken.None))
            .Should().BeTrue();
        (await backups.ApplyGuestUpdateAsync(backup.Id, instance.Id, new BackupUpdate("SAVING", null, null, null, null, null), CancellationToken.None))
            .Should().BeFalse("a late SAVING does not undo COMPLETED");
        (await backups.ApplyGuestUpdateAsync(backup.Id, "other", new BackupUpdate("FAILED", null, null, null, null, null), CancellationToken.None))
            .Should().BeFalse("another instance's report");
        var stored = (await backups.GetAsync(backup.Id, project, CancellationToken.None))!;
        (stored.State, stored.Location, stored.SizeGb).Should().Be(("COMPLETED", "swift://x", 0.25));
        (await backups.ListAsync(project, instance.Id, CancellationToken.None)).Should().ContainSingle();
        (await new InstanceStore(database).ClaimBackupReportAsync(instance.Id, 5, CancellationToken.None)).Should().BeTrue();
        (await new InstanceStore(database).ClaimBackupReportAsync(instance.Id, 4, CancellationToken.None)).Should().BeFalse();
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task Tasks_are_claimed_once_and_taken_over_after_their_lease(StateProvider provider)
    {
        var (database, _, _) = await FreshAsync(provider);
        var tasks = new TaskStore(database);
        var queued = await tasks.StartAsync(null, "create", "start", "{}", CancellationToken.None);
        var held = await tasks.StartAsync(null, "backup", "start", "{}", CancellationToken.None, "w1", DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        var expired = await tasks.StartAsync(null, "delete", "start", "{}", CancellationToken.None, "dead", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());

        var lease = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
        var claims = await Task.WhenAll(tasks.ClaimAsync("w2", lease, CancellationToken.None), tasks.ClaimAsync("w3", lease, CancellationToken.None));
        claims.SelectMany(c => c).Select(t => t.Id).Should().BeEquivalentTo([queued.Id, expired.Id], "each unheld task goes to exactly one worker");
        await tasks.StepAsync(held.Id, "wait_backup", CancellationToken.None, """{"backup_id": "b"}""");
        await tasks.FinishAsync(held.Id, "boom", CancellationToken.None);
        var finished = (await tasks.GetAsync(held.Id, CancellationToken.None))!;
        (finished.State, finished.Step, finished.Error).Should().Be((TaskState.Failed, "wait_backup", "boom"));
        (await tasks.UnfinishedAsync(CancellationToken.None)).Select(t => t.Id).Should().BeEquivalentTo([queued.Id, expired.Id]);
    }
}
