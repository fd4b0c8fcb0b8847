using FluentAssertions;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Migrations;

namespace Trove.Guest.Controller.Tests;

/// <summary>
/// <see cref="DatastoreStore.UpsertVersionAsync"/> (trove-manage's <c>datastore_version_update</c>, what
/// <c>trove-guest kick-start</c> runs) on both providers: it creates what is missing, updates a version in place (same id,
/// so instances that name it keep it), and moves the default only when asked.
/// </summary>
public sealed class DatastoreUpsertTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-upsert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<StateDatabase> FreshAsync(StateProvider provider)
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..12];
        var database = provider == StateProvider.Sqlite
            ? StateDatabase.Sqlite(Path.Combine(_dir, name + ".sqlite"))
            : StateDatabase.Postgres(await postgres.Server.CreateDatabaseAsync(name));
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        return database;
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task A_missing_datastore_and_version_are_created_and_the_version_made_the_default(StateProvider provider)
    {
        var store = new DatastoreStore(await FreshAsync(provider));

        var id = await store.UpsertVersionAsync("postgresql", "15", "15.8", "postgresql", "img-1", makeDefault: true, CancellationToken.None);

        var datastore = (await store.FindAsync("postgresql", CancellationToken.None))!;
        datastore.DefaultVersionId.Should().Be(id);
        datastore.Versions.Should().ContainSingle().Which.Should().Be(new DatastoreVersion(id, datastore.Id, "15", "15.8", "postgresql", "img-1", null, true));
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task An_existing_version_is_updated_in_place_and_made_active_again(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        var store = new DatastoreStore(database);
        var datastoreId = await store.AddAsync("mariadb", CancellationToken.None);
        var old = await store.AddVersionAsync(datastoreId, "10.11", "10.11", "mysql", "old-image", "trove,mariadb", active: false, CancellationToken.None);
        var other = await store.AddVersionAsync(datastoreId, "10.6", "10.6", "mariadb", null, null, active: true, CancellationToken.None);
        await store.SetDefaultVersionAsync(datastoreId, other, CancellationToken.None);
        // An instance names the version: an update must keep the row (and its id), not replace it.
        var project = await new IdentityStore(database).CreateProjectAsync("p", CancellationToken.None);
        await new FlavorStore(database).AddAsync(new Flavor("1", "small", 512, 1, 0), CancellationToken.None);
        await new InstanceStore(database).CreateAsync(new InstanceRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = project, Name = "i", FlavorId = "1", VolumeSizeGb = 1, DatastoreVersionId = old,
        }, CancellationToken.None);

        var id = await store.UpsertVersionAsync("mariadb", "10.11", "10.11.6", "mariadb", "new-image", makeDefault: false, CancellationToken.None);

        id.Should().Be(old);
        var datastore = (await store.FindAsync("mariadb", CancellationToken.None))!;
        datastore.Id.Should().Be(datastoreId, "the datastore is not created twice");
        datastore.DefaultVersionId.Should().Be(other, "the default moves only when asked");
        datastore.Versions.Should().HaveCount(2);
        datastore.Versions.Single(v => v.Name == "10.11").Should().Be(
            new DatastoreVersion(old, datastoreId, "10.11", "10.11.6", "mariadb", "new-image", "trove,mariadb", true), "the image tags are kept");

        (await store.UpsertVersionAsync("mariadb", "10.11", "10.11.6", "mariadb", null, makeDefault: true, CancellationToken.None)).Should().Be(old);
        datastore = (await store.FindAsync("mariadb", CancellationToken.None))!;
        datastore.DefaultVersionId.Should().Be(old);
        datastore.Versions.Single(v => v.Name == "10.11").ImageId.Should().BeNull("a version on a driver without images names none");
        datastore.Versions.Should().HaveCount(2);
    }
}
