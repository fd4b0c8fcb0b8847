using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.State.Identity;

/// <summary>Who a valid token or password belongs to.</summary>
public sealed record Principal(string UserId, string UserName, string ProjectId, string ProjectName);

/// <summary>A token as handed to a client: the secret itself is never stored, only its SHA-256.</summary>
public sealed record IssuedToken(string Token, DateTimeOffset ExpiresAt, Principal Principal);

/// <summary>
/// Projects, users and tokens. Passwords are kept as salted hashes (<see cref="PasswordHasher"/>) and tokens as the
/// SHA-256 of a random 32-byte secret, so the database never holds anything a client can present.
/// </summary>
public sealed class IdentityStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public async Task<string> CreateProjectAsync(string name, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N");
        await ExecuteAsync("INSERT INTO projects (id, name, created_at) VALUES (@id, @name, @now)", ct, ("@id", id), ("@name", name), ("@now", Now)).ConfigureAwait(false);
        return id;
    }

    /// <summary>The id of the project with this name, created when there is none.</summary>
    public async Task<string> EnsureProjectAsync(string name, CancellationToken ct) =>
        await IdOfAsync("SELECT id FROM projects WHERE name = @name", name, ct).ConfigureAwait(false) ?? await CreateProjectAsync(name, ct).ConfigureAwait(false);

    /// <summary>The user with this name, created in the project when there is none (an existing user's password is left alone).</summary>
    public async Task<string> EnsureUserAsync(string projectId, string name, string password, CancellationToken ct) =>
        await IdOfAsync("SELECT id FROM users WHERE name = @name", name, ct).ConfigureAwait(false) ?? await CreateUserAsync(projectId, name, password, ct).ConfigureAwait(false);

    private async Task<string?> IdOfAsync(string sql, string name, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await using var select = Sql.Command(connection, null, sql, ("@name", name));
        return await select.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    public async Task<string> CreateUserAsync(string projectId, string name, string password, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N");
        var (hash, salt) = PasswordHasher.Hash(password);
        await ExecuteAsync("INSERT INTO users (id, project_id, name, password_hash, password_salt, created_at) VALUES (@id, @project, @name, @hash, @salt, @now)", ct,
            ("@id", id), ("@project", projectId), ("@name", name), ("@hash", hash), ("@salt", salt), ("@now", Now)).ConfigureAwait(false);
        return id;
    }

    /// <summary>A token for the user whose name and password these are (and, when given, who is in that project); null otherwise.</summary>
    public async Task<IssuedToken?> LoginAsync(string userName, string password, string? project, TimeSpan lifetime, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await using var select = Sql.Command(connection, null, """
            SELECT u.id, u.name, u.password_hash, u.password_salt, p.id, p.name FROM users u JOIN projects p ON p.id = u.project_id WHERE u.name = @name
            """, ("@name", userName));
        await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            // As long as a wrong password takes, so that a login does not tell which user names exist.
            PasswordHasher.Verify(password, "pbkdf2-sha512:210000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAA==");
            return null;
        }
        var principal = new Principal(reader.GetString(0), reader.GetString(1), reader.GetString(4), reader.GetString(5));
        var (hash, salt) = (reader.GetString(2), reader.GetString(3));
        await reader.DisposeAsync().ConfigureAwait(false);
        if (!PasswordHasher.Verify(password, hash, salt)) return null;
        if (project is { Length: > 0 } && project != principal.ProjectId && project != principal.ProjectName) return null;

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = _clock.GetUtcNow() + lifetime;
        await using var insert = Sql.Command(connection, null, "INSERT INTO tokens (token_hash, user_id, project_id, expires_at) VALUES (@hash, @user, @project, @expires)",
            ("@hash", TokenHash(token)), ("@user", principal.UserId), ("@project", principal.ProjectId), ("@expires", expires.ToUnixTimeMilliseconds()));
        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return new IssuedToken(token, expires, principal);
    }

    /// <summary>
    /// Who the token belongs to, while it has not expired; null for an unknown or expired token. A token found valid is
    /// remembered for <see cref="ValidationCacheTime"/> (never past its expiry), so that a client's burst of requests costs
    /// one lookup: the check sat in front of every request and cost a database round trip each.
    /// </summary>
    public async Task<Principal?> ValidateAsync(string token, CancellationToken ct)
    {
        var hash = TokenHash(token);
        var now = Now;
        if (_validated.TryGetValue(hash, out var known) && now < known.ExpiresAt && now - known.CheckedAt < ValidationCacheTime.TotalMilliseconds)
            return known.Principal;
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await using var select = Sql.Command(connection, null, """
            SELECT u.id, u.name, p.id, p.name, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id JOIN projects p ON p.id = t.project_id
            WHERE t.token_hash = @hash AND t.expires_at > @now
            """, ("@hash", hash), ("@now", now));
        await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            _validated.TryRemove(hash, out _);
            return null;
        }
        var principal = new Principal(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
        if (_validated.Count >= MaxCachedTokens) _validated.Clear();
        _validated[hash] = (principal, Sql.Long(reader, 4) ?? 0, now);
        return principal;
    }

    /// <summary>How long a validated token is taken on trust without a lookup.</summary>
    public TimeSpan ValidationCacheTime { get; init; } = TimeSpan.FromSeconds(10);

    private const int MaxCachedTokens = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (Principal Principal, long ExpiresAt, long CheckedAt)> _validated = new();

    /// <summary>Deletes expired tokens; returns how many.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken ct) => ExecuteAsync("DELETE FROM tokens WHERE expires_at <= @now", ct, ("@now", Now));

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static string TokenHash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private async Task<int> ExecuteAsync(string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.ExecuteAsync(connection, null, sql, ct, parameters).ConfigureAwait(false);
    }
}
