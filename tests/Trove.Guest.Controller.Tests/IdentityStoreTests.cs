using FluentAssertions;
using Trove.Guest.State;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Migrations;

namespace Trove.Guest.Controller.Tests;

/// <summary>What the identity tables hold: never a password or a token, only salted hashes; expired tokens purged.</summary>
public sealed class IdentityStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-identity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Passwords_and_tokens_are_stored_only_as_salted_hashes_and_expired_tokens_are_purged()
    {
        var path = Path.Combine(_dir, "state.sqlite");
        var database = StateDatabase.Sqlite(path);
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
        var clock = new ManualClock();
        var identity = new IdentityStore(database, clock);
        var project = await identity.CreateProjectAsync("p", CancellationToken.None);
        await identity.CreateUserAsync(project, "u1", "same password", CancellationToken.None);
        await identity.CreateUserAsync(project, "u2", "same password", CancellationToken.None);
        var token = await identity.LoginAsync("u1", "same password", "p", TimeSpan.FromMinutes(5), CancellationToken.None);
        token.Should().NotBeNull();
        (await identity.LoginAsync("u1", "same password", "another project", TimeSpan.FromMinutes(5), CancellationToken.None)).Should().BeNull();
        (await identity.LoginAsync("nobody", "same password", null, TimeSpan.FromMinutes(5), CancellationToken.None)).Should().BeNull();

        await using (var connection = await database.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT password_hash FROM users ORDER BY name";
            await using var reader = await command.ExecuteReaderAsync();
            var hashes = new List<string>();
            while (await reader.ReadAsync()) hashes.Add(reader.GetString(0));
            hashes.Should().OnlyHaveUniqueItems("each user has a salt of their own").And.OnlyContain(h => h.StartsWith("pbkdf2-sha512:210000:", StringComparison.Ordinal));
        }
        var bytes = await File.ReadAllBytesAsync(path);
        var text = System.Text.Encoding.UTF8.GetString(bytes) + System.Text.Encoding.UTF8.GetString(File.Exists(path + "-wal") ? await File.ReadAllBytesAsync(path + "-wal") : []);
        text.Should().NotContain("same password").And.NotContain(token!.Token);

        clock.Now += TimeSpan.FromMinutes(6);
        (await identity.ValidateAsync(token.Token, CancellationToken.None)).Should().BeNull("it expired");
        (await identity.PurgeExpiredAsync(CancellationToken.None)).Should().Be(1);
    }
}
