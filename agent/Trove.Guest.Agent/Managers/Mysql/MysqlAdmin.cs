using MySqlConnector;
using Trove.Guest.Agent.Models;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// The SQL side of the MySQL/MariaDB manager (guest-contract §2.6–2.7), as <c>os_admin</c> over the unix socket.
/// Names are validated with Trove's rules, then identifiers are backtick-quoted and accounts written as escaped string
/// literals (<see cref="MysqlNames.Account"/>); passwords are always bound parameters, so no password is ever SQL text.
/// </summary>
public sealed class MysqlAdmin(string socketPath, string user, string password, bool isMariaDb, IReadOnlyCollection<string> ignoreDbs,
    IReadOnlyCollection<string> ignoreUsers, bool pooling = true)
{
    /// <summary>
    /// The database's <c>root@localhost</c> as the OS root user: no password, the server's socket authentication
    /// (MariaDB's <c>unix_socket</c>, how prepare initialises a datadir) recognises the agent's own uid. Unpooled: it
    /// serves prepare's few statements, before <c>os_admin</c> exists.
    /// </summary>
    public static MysqlAdmin SocketRoot(string socketPath, bool isMariaDb) => new(socketPath, "root", "", isMariaDb, [], [], pooling: false);

    private readonly string _connectionString = new MySqlConnectionStringBuilder
    {
        Server = socketPath,
        ConnectionProtocol = MySqlConnectionProtocol.UnixSocket,
        UserID = user,
        Password = password,
        Pooling = pooling,
        MaximumPoolSize = 8,
        ConnectionTimeout = 5,
        DefaultCommandTimeout = 60,
    }.ConnectionString;

    public IReadOnlyCollection<string> IgnoreDbs => ignoreDbs;

    private async Task<MySqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new MySqlConnection(_connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        return connection;
    }

    /// <summary>One admin operation: one connection, one transaction, <c>FLUSH PRIVILEGES</c> at the end when asked.</summary>
    private async Task RunAsync(bool flush, CancellationToken ct, Func<MySqlConnection, MySqlTransaction, Task> work)
    {
        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await work(connection, tx).ConfigureAwait(false);
        if (flush) await ExecAsync(connection, tx, "FLUSH PRIVILEGES", ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task ExecAsync(MySqlConnection c, MySqlTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = new MySqlCommand(sql, c, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static Task<List<string?[]>> QueryAsync(MySqlConnection c, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters) =>
        QueryAsync(c, null, sql, ct, parameters);

    private static async Task<List<string?[]>> QueryAsync(MySqlConnection c, MySqlTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = new MySqlCommand(sql, c, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<string?[]>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// One connection for a sequence of statements that must share a session (replication: <c>STOP SLAVE</c>, then
    /// <c>CHANGE MASTER</c>…). With <paramref name="binlog"/> false the agent's own writes stay out of the binary log,
    /// so a replica never gains transactions of its own (errant GTIDs break replication; mariadb-ops §5.5).
    /// </summary>
    public async Task<MysqlSession> OpenSessionAsync(bool binlog, CancellationToken ct)
    {
        var session = new MysqlSession(await OpenAsync(ct).ConfigureAwait(false));
        if (!binlog) await session.ExecuteAsync("SET SESSION sql_log_bin = 0", ct).ConfigureAwait(false);
        return session;
    }

    /// <summary>True when the server answers a real query.</summary>
    public async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            await using var c = await OpenAsync(ct).ConfigureAwait(false);
            await using var cmd = new MySqlCommand("SELECT 1", c);
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (Exception e) when (e is MySqlException or InvalidOperationException or IOException or TimeoutException)
        {
            return false;
        }
    }

    // ---- databases ----------------------------------------------------------------------------------------------

    public Task CreateDatabasesAsync(IReadOnlyList<MysqlDatabase> databases, CancellationToken ct)
    {
        foreach (var db in databases)
        {
            MysqlNames.ValidateDatabase(db.Name, ignoreDbs);
            MysqlNames.ValidateCharset(db.CharacterSet, "character set");
            MysqlNames.ValidateCharset(db.Collate, "collation");
        }
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            foreach (var db in databases)
            {
                // Trove's defaults: utf8 / utf8_general_ci when neither is given; otherwise let the server derive the other.
                var sql = $"CREATE DATABASE IF NOT EXISTS {MysqlNames.Identifier(db.Name)}";
                if (db.CharacterSet is null && db.Collate is null) sql += " CHARACTER SET = 'utf8' COLLATE = 'utf8_general_ci'";
                if (db.CharacterSet is not null) sql += $" CHARACTER SET = '{db.CharacterSet}'";
                if (db.Collate is not null) sql += $" COLLATE = '{db.Collate}'";
                await ExecAsync(c, tx, sql, ct).ConfigureAwait(false);
            }
        });
    }

    public Task DeleteDatabaseAsync(string name, CancellationToken ct)
    {
        MysqlNames.ValidateDatabase(name, ignoreDbs);
        return RunAsync(flush: true, ct, (c, tx) => ExecAsync(c, tx, $"DROP DATABASE IF EXISTS {MysqlNames.Identifier(name)}", ct));
    }

    public async Task<(IReadOnlyList<MysqlDatabase> Items, string? NextMarker)> ListDatabasesAsync(int? limit, string? marker, bool includeMarker, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        var parameters = new List<(string, object?)>();
        var ignore = string.Join(", ", ignoreDbs.Select((name, i) => { parameters.Add(($"@ig{i}", name)); return $"@ig{i}"; }));
        var sql = "SELECT schema_name, default_character_set_name, default_collation_name FROM information_schema.schemata"
            + (ignoreDbs.Count > 0 ? $" WHERE schema_name NOT IN ({ignore})" : " WHERE 1 = 1");
        if (marker is not null)
        {
            sql += includeMarker ? " AND schema_name >= @marker" : " AND schema_name > @marker";
            parameters.Add(("@marker", marker));
        }
        sql += " ORDER BY schema_name ASC";
        if (limit is { } l) sql += $" LIMIT {l + 1}";
        var rows = await QueryAsync(c, sql, ct, [.. parameters]).ConfigureAwait(false);
        var items = rows.Select(r => new MysqlDatabase(r[0]!, r[1], r[2])).ToList();
        return Page(items, limit, d => d.Name);
    }

    private static (IReadOnlyList<T>, string?) Page<T>(List<T> items, int? limit, Func<T, string> markerOf)
    {
        if (limit is not { } l || items.Count <= l) return (items, null);
        var page = items.Take(l).ToList();
        return (page, markerOf(page[^1]));
    }

    // ---- users --------------------------------------------------------------------------------------------------

    public Task CreateUsersAsync(IReadOnlyList<MysqlUser> users, CancellationToken ct)
    {
        foreach (var u in users)
        {
            MysqlNames.ValidateUser(u.Name, u.Host);
            MysqlNames.ValidatePassword(u.Password);
            if (ignoreUsers.Contains(u.Name)) throw RpcFailureException.ValueError($"'{u.Name}' is a reserved user");
            foreach (var db in u.Databases) MysqlNames.ValidateDatabase(db.Name, ignoreDbs);
        }
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            foreach (var u in users)
            {
                await ExecAsync(c, tx, $"CREATE USER {MysqlNames.Account(u.Name, u.Host)} IDENTIFIED BY @p", ct, ("@p", u.Password ?? "")).ConfigureAwait(false);
                foreach (var db in u.Databases)
                    await ExecAsync(c, tx, $"GRANT ALL PRIVILEGES ON {MysqlNames.GrantTarget(db.Name)} TO {MysqlNames.Account(u.Name, u.Host)}", ct).ConfigureAwait(false);
            }
        });
    }

    public Task DeleteUserAsync(string name, string host, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        if (ignoreUsers.Contains(name)) throw RpcFailureException.ValueError($"'{name}' is a reserved user");
        return RunAsync(flush: true, ct, (c, tx) => ExecAsync(c, tx, $"DROP USER {MysqlNames.Account(name, host)}", ct));
    }

    private string SetPasswordSql(string name, string host) => isMariaDb
        ? $"ALTER USER {MysqlNames.Account(name, host)} IDENTIFIED VIA mysql_native_password USING PASSWORD(@p)"
        : $"ALTER USER {MysqlNames.Account(name, host)} IDENTIFIED BY @p";

    public Task ChangePasswordsAsync(IReadOnlyList<(string Name, string Host, string Password)> users, CancellationToken ct)
    {
        foreach (var (name, host, password) in users)
        {
            MysqlNames.ValidateUser(name, host);
            MysqlNames.ValidatePassword(password);
        }
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            foreach (var (name, host, password) in users)
                await ExecAsync(c, tx, SetPasswordSql(name, host), ct, ("@p", password)).ConfigureAwait(false);
        });
    }

    public Task UpdateAttributesAsync(string name, string host, string? newName, string? newHost, string? newPassword, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        MysqlNames.ValidateUser(newName ?? name, newHost ?? host);
        MysqlNames.ValidatePassword(newPassword);
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            if (newPassword is not null)
                await ExecAsync(c, tx, SetPasswordSql(name, host), ct, ("@p", newPassword)).ConfigureAwait(false);
            if ((newName ?? name) != name || (newHost ?? host) != host)
                await ExecAsync(c, tx, $"RENAME USER {MysqlNames.Account(name, host)} TO {MysqlNames.Account(newName ?? name, newHost ?? host)}", ct).ConfigureAwait(false);
        });
    }

    public async Task<MysqlUser?> GetUserAsync(string name, string host, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        var rows = await QueryAsync(c, "SELECT User, Host FROM mysql.user WHERE Host != 'localhost' AND User = @u AND Host = @h", ct, ("@u", name), ("@h", host)).ConfigureAwait(false);
        if (rows.Count != 1) return null;
        return new MysqlUser(name, host, null, await UserDatabasesAsync(c, name, host, ct).ConfigureAwait(false));
    }

    private async Task<List<MysqlDatabase>> UserDatabasesAsync(MySqlConnection c, string name, string host, CancellationToken ct)
    {
        var rows = await QueryAsync(c, "SELECT Db FROM mysql.db WHERE User = @u AND Host = @h ORDER BY Db", ct, ("@u", name), ("@h", host)).ConfigureAwait(false);
        return rows.Select(r => new MysqlDatabase(MysqlNames.FromGrantPattern(r[0]!))).ToList();
    }

    public async Task<(IReadOnlyList<MysqlUser> Items, string? NextMarker)> ListUsersAsync(int? limit, string? marker, bool includeMarker, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        var parameters = new List<(string, object?)>();
        var ignore = string.Join(", ", ignoreUsers.Select((name, i) => { parameters.Add(($"@iu{i}", name)); return $"@iu{i}"; }));
        var sql = "SELECT User, Host, CONCAT(User, '@', Host) AS Marker FROM mysql.user WHERE Host != 'localhost'"
            + (ignoreUsers.Count > 0 ? $" AND User NOT IN ({ignore})" : "");
        if (marker is not null)
        {
            sql += includeMarker ? " AND CONCAT(User, '@', Host) >= @marker" : " AND CONCAT(User, '@', Host) > @marker";
            parameters.Add(("@marker", marker));
        }
        sql += " ORDER BY Marker";
        if (limit is { } l) sql += $" LIMIT {l + 1}";
        var rows = await QueryAsync(c, sql, ct, [.. parameters]).ConfigureAwait(false);
        var users = new List<MysqlUser>();
        foreach (var r in rows) users.Add(new MysqlUser(r[0]!, r[1]!, null, await UserDatabasesAsync(c, r[0]!, r[1]!, ct).ConfigureAwait(false)));
        return Page(users, limit, u => $"{u.Name}@{u.Host}");
    }

    public Task GrantAccessAsync(string name, string host, IReadOnlyList<string> databases, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        foreach (var db in databases) MysqlNames.ValidateDatabase(db, ignoreDbs);
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            foreach (var db in databases)
                await ExecAsync(c, tx, $"GRANT ALL PRIVILEGES ON {MysqlNames.GrantTarget(db)} TO {MysqlNames.Account(name, host)}", ct).ConfigureAwait(false);
        });
    }

    public Task RevokeAccessAsync(string name, string host, string database, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        MysqlNames.ValidateDatabase(database, ignoreDbs);
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            // REVOKE of a grant that does not exist is an error (1141): revoke only what is there.
            var granted = await QueryAsync(c, tx, "SELECT COUNT(*) FROM mysql.db WHERE User = @u AND Host = @h AND Db = @d", ct,
                ("@u", name), ("@h", host), ("@d", MysqlNames.GrantPattern(database))).ConfigureAwait(false);
            if (granted[0][0] != "0")
                await ExecAsync(c, tx, $"REVOKE ALL ON {MysqlNames.GrantTarget(database)} FROM {MysqlNames.Account(name, host)}", ct).ConfigureAwait(false);
        });
    }

    public async Task<IReadOnlyList<MysqlDatabase>> ListAccessAsync(string name, string host, CancellationToken ct)
    {
        MysqlNames.ValidateUser(name, host);
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        return await UserDatabasesAsync(c, name, host, ct).ConfigureAwait(false);
    }

    /// <summary><c>SET GLOBAL name = value</c>; the name and the SQL literal are checked by the caller.</summary>
    public async Task SetGlobalAsync(string name, string sqlValue, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await ExecAsync(c, null, $"SET GLOBAL {name} = {sqlValue}", ct).ConfigureAwait(false);
    }

    // ---- root ---------------------------------------------------------------------------------------------------

    public async Task<bool> IsRootEnabledAsync(CancellationToken ct)
    {
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        return (await QueryAsync(c, "SELECT User FROM mysql.user WHERE User = 'root' AND Host != 'localhost'", ct).ConfigureAwait(false)).Count > 0;
    }

    /// <summary>Trove's enable_root: <c>root@'%'</c> with the password and <c>GRANT &lt;root_grant&gt; ON *.*</c>.</summary>
    public Task EnableRootAsync(string password, string rootGrant, bool grantOption, CancellationToken ct)
    {
        if (rootGrant.Length == 0 || !rootGrant.All(c => char.IsAsciiLetter(c) || c is ' ' or ',' or '_'))
            throw new InvalidOperationException($"root_grant '{rootGrant}' is not a privilege list");
        return RunAsync(flush: true, ct, async (c, tx) =>
        {
            await ExecAsync(c, tx, "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY @p", ct, ("@p", password)).ConfigureAwait(false);
            await ExecAsync(c, tx, SetPasswordSql("root", "%"), ct, ("@p", password)).ConfigureAwait(false);
            await ExecAsync(c, tx, $"GRANT {rootGrant} ON *.* TO 'root'@'%'{(grantOption ? " WITH GRANT OPTION" : "")}", ct).ConfigureAwait(false);
        });
    }
}

/// <summary>A connection as <c>os_admin</c> for statements that belong together; values are bound parameters.</summary>
public sealed class MysqlSession(MySqlConnection connection) : IAsyncDisposable
{
    public async Task ExecuteAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<string?> ScalarAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is null or DBNull ? null : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Rows by column name (<c>SHOW SLAVE STATUS</c> has dozens of columns, in an order that changes between versions).</summary>
    public async Task<List<Dictionary<string, string?>>> QueryAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<Dictionary<string, string?>>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var row = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < reader.FieldCount; i++)
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }

    private MySqlCommand Command(string sql, (string Name, object? Value)[] parameters)
    {
        var cmd = new MySqlCommand(sql, connection) { CommandTimeout = 0 };
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return cmd;
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
