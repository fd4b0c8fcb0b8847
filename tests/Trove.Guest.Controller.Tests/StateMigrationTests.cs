using System.Data.Common;
using FluentAssertions;
using Trove.Guest.State;
using Trove.Guest.State.Migrations;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests;

/// <summary>One real PostgreSQL cluster for the migration tests; each test gets its own database in it.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresService Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await PostgresService.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The schema migrations on both providers, each real: a SQLite file and a PostgreSQL database. A fresh database gets
/// every migration once, also when several controllers start together; a newer, edited or hand-changed database is
/// refused before anything is written; a failing migration leaves the database at the version before it.
/// </summary>
public sealed class StateMigrationTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<StateDatabase> FreshAsync(StateProvider provider)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..12];
        return provider == StateProvider.Sqlite
            ? StateDatabase.Sqlite(Path.Combine(_dir, name + ".sqlite"))
            : StateDatabase.Postgres(await postgres.Server.CreateDatabaseAsync(name));
    }

    private static async Task<long> ScalarAsync(StateDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Task<long> TableExistsAsync(StateDatabase database, string table) => ScalarAsync(database, database.Provider == StateProvider.Sqlite
        ? $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        : $"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'");

    private static readonly Migration Extra = new(StateSchema.Migrations.Count + 1, "extra table", "CREATE TABLE extra (id TEXT PRIMARY KEY);");

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task A_fresh_database_gets_every_migration_once(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        var migrator = new Migrator(database, StateSchema.Migrations);

        (await migrator.MigrateAsync(CancellationToken.None)).Should().Equal(Enumerable.Range(1, StateSchema.Migrations.Count));
        (await migrator.CurrentVersionAsync(CancellationToken.None)).Should().Be(StateSchema.Migrations.Count);
        foreach (var table in new[] { "projects", "users", "tokens", "datastores", "datastore_versions", "flavors", "configurations", "instances", "tasks", "backups" })
            (await TableExistsAsync(database, table)).Should().Be(1, table);

        (await migrator.MigrateAsync(CancellationToken.None)).Should().BeEmpty("a second start finds nothing to do");
        (await ScalarAsync(database, "SELECT count(*) FROM schema_migrations")).Should().Be(StateSchema.Migrations.Count);
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task Controllers_starting_together_apply_each_migration_exactly_once(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        var migrations = StateSchema.Migrations.Append(Extra).ToList();
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new Migrator(database, migrations).MigrateAsync(CancellationToken.None))));

        runs.SelectMany(r => r).Order().Should().Equal(Enumerable.Range(1, migrations.Count), "every version was applied by exactly one of them");
        (await ScalarAsync(database, "SELECT count(*) FROM schema_migrations")).Should().Be(migrations.Count);
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task A_database_newer_than_the_controller_is_refused_untouched(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        await new Migrator(database, StateSchema.Migrations.Append(Extra).ToList()).MigrateAsync(CancellationToken.None);

        var older = new Migrator(database, StateSchema.Migrations);
        var act = () => older.MigrateAsync(CancellationToken.None);
        (await act.Should().ThrowAsync<SchemaException>()).Which.Message.Should()
            .Contain($"schema version {StateSchema.Migrations.Count + 1} (extra table), newer than this controller's {StateSchema.Migrations.Count}");
        (await ScalarAsync(database, "SELECT count(*) FROM schema_migrations")).Should().Be(StateSchema.Migrations.Count + 1);
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task A_released_migration_that_changed_is_refused(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        await new Migrator(database, [new Migration(1, "first", "CREATE TABLE a (id TEXT PRIMARY KEY);")]).MigrateAsync(CancellationToken.None);

        var edited = new Migrator(database, [new Migration(1, "first", "CREATE TABLE a (id TEXT PRIMARY KEY, more TEXT);"), new Migration(2, "extra table", "CREATE TABLE extra (id TEXT PRIMARY KEY);")]);
        var act = () => edited.MigrateAsync(CancellationToken.None);
        (await act.Should().ThrowAsync<SchemaException>()).Which.Message.Should().Contain("schema migration 1 (first) differs");
        (await TableExistsAsync(database, "extra")).Should().Be(0, "nothing ran after the check failed");
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task A_failing_migration_is_rolled_back_whole(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        var broken = new Migration(2, "half a step", "CREATE TABLE half (id TEXT PRIMARY KEY); INSERT INTO no_such_table VALUES (1);");
        var act = () => new Migrator(database, [StateSchema.Migrations[0], broken]).MigrateAsync(CancellationToken.None);

        (await act.Should().ThrowAsync<SchemaException>()).Which.Message.Should().Contain("schema migration 2 (half a step) failed and was rolled back; the database stays at version 1");
        (await TableExistsAsync(database, "half")).Should().Be(0, "the step's first statement was rolled back with it");
        (await new Migrator(database, StateSchema.Migrations).CurrentVersionAsync(CancellationToken.None)).Should().Be(1);
    }

    [Theory]
    [InlineData(StateProvider.Sqlite)]
    [InlineData(StateProvider.Postgres)]
    public async Task The_schema_enforces_its_references(StateProvider provider)
    {
        var database = await FreshAsync(provider);
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var act = () => ScalarAsync(database, "INSERT INTO users (id, project_id, name, password_hash, password_salt, created_at) VALUES ('u', 'no-such-project', 'n', 'h', 's', 0)");
        await act.Should().ThrowAsync<DbException>("a user belongs to an existing project (SQLite's foreign keys are switched on per connection)");
    }
}
