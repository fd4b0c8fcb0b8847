using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Trove.Guest.State;

/// <summary>Where the controller keeps its state.</summary>
public enum StateProvider
{
    /// <summary>One file beside the controller: the default, for one machine.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database, when the control plane outgrows one machine.</summary>
    Postgres,
}

/// <summary>
/// The state database: a provider and its connection string, and connections opened with the settings the
/// controller relies on (SQLite: foreign keys on, WAL, a busy timeout so that two writers wait instead of failing).
/// </summary>
public sealed class StateDatabase(StateProvider provider, string connectionString)
{
    public StateProvider Provider { get; } = provider;

    /// <summary>Pulsed when a guest's report is stored through this object (flows in this process wake at once).</summary>
    public StateChanges Changes { get; } = new();

    /// <summary>The SQLite database in <paramref name="path"/> (created when missing).</summary>
    public static StateDatabase Sqlite(string path) =>
        new(StateProvider.Sqlite, new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString());

    public static StateDatabase Postgres(string connectionString) => new(StateProvider.Postgres, connectionString);

    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        DbConnection connection = Provider == StateProvider.Sqlite ? new SqliteConnection(connectionString) : new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            if (Provider == StateProvider.Sqlite)
            {
                await using var pragmas = connection.CreateCommand();
                pragmas.CommandText = "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 30000;";
                await pragmas.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
