using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Migrations;

namespace Trove.Guest.Bench.Controller;

/// <summary>What the seeded state holds: the measured project, a user's token for it, and the instance show asks for.</summary>
public sealed record SeededState(string ProjectId, string Token, string ShownInstanceId, int Instances, int Replicas, int RunningBackups, int Backups);

/// <summary>
/// A migrated state database with the measured project's instances written through <see cref="InstanceStore.CreateAsync"/>
/// (no API in between), shaped so that the views do real work: every tenth instance is a replication source with two
/// replicas, every fifth has a completed backup (the list reads them all, then keeps the running ones), every twentieth
/// a running backup (shown as BACKUP), all with a fresh heartbeat. Another project holds 10 % more rows the queries skip.
/// </summary>
public static class StateSeeder
{
    public const string UserName = "bench";
    public const string Password = "bench-pa55word";

    public static async Task<SeededState> SeedAsync(StateDatabase database, int count, CancellationToken ct)
    {
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(ct);
        var identity = new IdentityStore(database);
        var project = await identity.CreateProjectAsync("bench", ct);
        var other = await identity.CreateProjectAsync("other", ct);
        await identity.CreateUserAsync(project, UserName, Password, ct);
        await new FlavorStore(database).AddAsync(new Flavor("1", "db.small", 512, 1, 0), ct);
        var datastores = new DatastoreStore(database);
        var mariadb = await datastores.AddAsync("mariadb", ct);
        var version = await datastores.AddVersionAsync(mariadb, "10.11", "10.11.6", "mariadb", null, null, active: true, ct);
        await datastores.SetDefaultVersionAsync(mariadb, version, ct);

        var instances = new InstanceStore(database);
        var backups = new BackupStore(database);
        var (replicas, running, completed) = (0, 0, 0);
        string? source = null;
        string? shown = null;
        for (var i = 0; i < count + count / 10; i++)
        {
            var ownProject = i < count;
            var n = i % 10;
            var replicaOf = ownProject && n is 1 or 2 ? source : null;
            var record = await instances.CreateAsync(new InstanceRecord
            {
                Id = Guid.NewGuid().ToString(), ProjectId = ownProject ? project : other, Name = $"bench-{i:0000}", FlavorId = "1", VolumeSizeGb = 1 + i % 5,
                DatastoreVersionId = version, ReplicaOf = replicaOf, ServiceStatus = InstanceServiceStatus.Healthy, TaskStatus = InstanceTaskStatus.None,
                RpcKey = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
            }, ct);
            await instances.RecordHeartbeatAsync(record.Id, InstanceServiceStatus.Healthy, null, ct);
            if (!ownProject) continue;
            if (n == 0) source = record.Id;
            if (replicaOf is not null) replicas++;
            // The shown instance is a source with replicas and a running backup: the show's every query returns rows.
            if (i == count / 2 / 20 * 20) shown = record.Id;
            if (i % 5 == 0)
            {
                await backups.CreateAsync(new BackupRecord
                {
                    Id = Guid.NewGuid().ToString(), ProjectId = project, InstanceId = record.Id, Name = $"nightly-{i}", DatastoreVersionId = version,
                    State = BackupState.Completed, Location = $"http://swift/v1/AUTH_bench/database_backups/{record.Id}.xbstream.gz.enc", Checksum = "0123456789abcdef",
                    BackupType = "InnoBackupEx", SizeGb = 0.12,
                }, ct);
                completed++;
            }
            if (i % 20 == 0)
            {
                await backups.CreateAsync(new BackupRecord
                {
                    Id = Guid.NewGuid().ToString(), ProjectId = project, InstanceId = record.Id, Name = $"manual-{i}", DatastoreVersionId = version,
                    State = BackupState.Building,
                }, ct);
                running++;
            }
        }
        var token = await identity.LoginAsync(UserName, Password, null, TimeSpan.FromHours(2), ct) ?? throw new InvalidOperationException("the bench user cannot log in");
        return new SeededState(project, token.Token, shown!, count, replicas, running, completed + running);
    }
}
