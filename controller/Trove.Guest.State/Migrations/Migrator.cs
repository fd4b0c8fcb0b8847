using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Trove.Guest.State.Migrations;

/// <summary>
/// Brings a state database to the newest schema, one migration per transaction, as Trove's <c>db_sync</c> does with
/// its migration repository. Several controllers may start at once: each migration takes the database's write lock
/// (SQLite's <c>BEGIN IMMEDIATE</c>, a PostgreSQL advisory lock) and re-reads the version inside it, so every step runs
/// exactly once. A database newer than this controller, a gap in the recorded versions or a migration whose SQL
/// changed after it ran is refused, naming both versions, before anything is written.
/// </summary>
public sealed class Migrator(StateDatabase database, IReadOnlyList<Migration> migrations)
{
    // Any constant: the advisory lock key the controllers of one PostgreSQL database agree on.
    private const long PostgresLockKey = 0x54726f7665;

    private const string VersionTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )
        """;

    public int LatestVersion => migrations.Count == 0 ? 0 : migrations[^1].Version;

    /// <summary>Applies what is missing; returns the versions this call applied (none when another controller did).</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken ct)
    {
        for (var i = 0; i < migrations.Count; i++)
            if (migrations[i].Version != i + 1) throw new ArgumentException($"migration versions must run 1, 2, 3... without gaps; found {migrations[i].Version} at position {i + 1}");

        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await EnsureVersionTableAsync(connection, ct).ConfigureAwait(false);
        var applied = new List<int>();
        foreach (var migration in migrations)
        {
            await using var transaction = await BeginLockedAsync(connection, ct).ConfigureAwait(false);
            var recorded = await RecordedAsync(connection, transaction, ct).ConfigureAwait(false);
            Check(recorded);
            if (recorded.Any(r => r.Version == migration.Version)) continue;
            try
            {
                await Sql.ExecuteAsync(connection, transaction, migration.Sql, ct).ConfigureAwait(false);
            }
            catch (DbException e)
            {
                throw new SchemaException($"schema migration {migration.Version} ({migration.Name}) failed and was rolled back; the database stays at version {migration.Version - 1}: {e.Message}", e);
            }
            await Sql.ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (@v, @n, @c, @t)", ct,
                ("@v", migration.Version), ("@n", migration.Name), ("@c", migration.Checksum), ("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            applied.Add(migration.Version);
        }
        return applied;
    }

    /// <summary>The schema version the database is at (0 when it has none).</summary>
    public async Task<int> CurrentVersionAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await EnsureVersionTableAsync(connection, ct).ConfigureAwait(false);
        var recorded = await RecordedAsync(connection, null, ct).ConfigureAwait(false);
        return recorded.Count == 0 ? 0 : recorded.Max(r => r.Version);
    }

    private void Check(IReadOnlyList<(int Version, string Name, string Checksum)> recorded)
    {
        var newest = recorded.Count == 0 ? 0 : recorded.Max(r => r.Version);
        if (newest > LatestVersion)
            throw new SchemaException($"the state database is at schema version {newest} ({recorded.First(r => r.Version == newest).Name}), newer than this controller's {LatestVersion}: run the newer controller, or restore a backup taken before it upgraded the database");
        for (var v = 1; v <= newest; v++)
        {
            var row = recorded.FirstOrDefault(r => r.Version == v);
            if (row.Name is null) throw new SchemaException($"the state database records schema version {newest} but not version {v}: it was changed by hand; restore it from a backup");
            var ours = migrations[v - 1];
            if (row.Checksum != ours.Checksum)
                throw new SchemaException($"schema migration {v} ({ours.Name}) differs from the one that ran on this database ({row.Name}, checksum {row.Checksum}, ours {ours.Checksum}): a released migration must never change; add a new one");
        }
    }

    /// <summary>
    /// Under the lock too: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself, and two controllers
    /// starting together would otherwise both try to create the table's type (a unique violation in pg_type).
    /// </summary>
    private async Task EnsureVersionTableAsync(DbConnection connection, CancellationToken ct)
    {
        await using var transaction = await BeginLockedAsync(connection, ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, transaction, VersionTable, ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private async Task<DbTransaction> BeginLockedAsync(DbConnection connection, CancellationToken ct)
    {
        if (database.Provider == StateProvider.Sqlite)
        {
            // Microsoft.Data.Sqlite begins IMMEDIATE unless asked for a deferred transaction: the write lock is taken
            // here, and a second controller waits (busy_timeout) instead of reading a version about to change.
            return ((Microsoft.Data.Sqlite.SqliteConnection)connection).BeginTransaction(deferred: false);
        }
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgresLockKey.ToString(CultureInfo.InvariantCulture)})", ct).ConfigureAwait(false);
        return transaction;
    }

    private static async Task<IReadOnlyList<(int Version, string Name, string Checksum)>> RecordedAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct)
    {
        await using var select = Sql.Command(connection, transaction, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
        await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<(int, string, string)>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) rows.Add((Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), reader.GetString(1), reader.GetString(2)));
        return rows;
    }
}
