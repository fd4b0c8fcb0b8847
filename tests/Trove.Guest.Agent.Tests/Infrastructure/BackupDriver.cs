using System.Text.Json.Nodes;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>A real Swift for the backup tests of one class.</summary>
public sealed class SwiftFixture : IAsyncLifetime
{
    public SwiftService Swift { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Swift = await SwiftService.StartAsync();

    public ValueTask DisposeAsync() => Swift.DisposeAsync();

    public JsonObject Context => BackupDriver.SwiftContext(Swift);
}

/// <summary>Drives backups the way Trove's taskmanager does, and fills a source database with data worth checking.</summary>
public static class BackupDriver
{
    /// <summary>A request context as Trove's API builds it: the user's token and the service catalog with Swift in it.</summary>
    public static JsonObject SwiftContext(SwiftService swift) => new()
    {
        ["auth_token"] = swift.Token,
        ["project_id"] = "test",
        ["service_catalog"] = new JsonArray(new JsonObject
        {
            ["type"] = "object-store", ["name"] = "swift",
            ["endpoints"] = new JsonArray(new JsonObject { ["region"] = "RegionOne", ["publicURL"] = swift.StorageUrl }),
        }),
    };

    public const string Tables = "CHECKSUM TABLE shop.items, shop.notes EXTENDED;";

    public static Func<AgentOptions, AgentOptions> With(BackupOptions backup) => o => o with { Backup = backup };

    public static async Task SeedAsync(AgentUnderTest agent) => await agent.SqlAsync("""
        SET SESSION max_recursive_iterations = 100000;
        CREATE DATABASE shop;
        CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(100), n BIGINT) ENGINE=InnoDB;
        CREATE TABLE shop.notes (id INT PRIMARY KEY, t TEXT) ENGINE=Aria;
        INSERT INTO shop.items (v, n) WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 20000) SELECT CONCAT('item-', seq), seq * 7 FROM s;
        INSERT INTO shop.notes WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 500) SELECT seq, REPEAT('n', seq % 50) FROM s;
        """);

    public static Task ChangeAsync(AgentUnderTest agent, int round) => agent.SqlAsync($"""
        SET SESSION max_recursive_iterations = 100000;
        INSERT INTO shop.items (v, n) WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 5000) SELECT CONCAT('round{round}-', seq), seq FROM s;
        UPDATE shop.items SET n = n + {round} WHERE id % 10 = {round};
        DELETE FROM shop.items WHERE id % 97 = {round};
        INSERT INTO shop.notes VALUES ({1000 + round}, 'round {round}');
        """);

    /// <summary>Casts create_backup as the taskmanager does and waits for the final update_backup; returns its arguments.</summary>
    public static async Task<JsonObject> BackupAsync(AgentUnderTest agent, JsonObject context, string id, JsonObject? parent = null)
    {
        var info = new JsonObject
        {
            ["id"] = id, ["name"] = id, ["description"] = null, ["instance_id"] = agent.Options.GuestId,
            ["backup_type"] = parent is null ? "full" : "incremental", ["checksum"] = null, ["parent"] = parent,
            ["datastore"] = "mariadb", ["datastore_version"] = "10.11",
        };
        await agent.Client.CastAsync(agent.Target, "create_backup", new JsonObject { ["backup_info"] = info }, context);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var final = agent.Conductor.Received.FirstOrDefault(r => r.Method == "update_backup" && r.Args["backup_id"]!.GetValue<string>() == id
                && r.Args["state"]!.GetValue<string>() is "COMPLETED" or "FAILED");
            if (final.Method is not null) return final.Args;
            await Task.Delay(100);
        }
        throw new TimeoutException($"backup {id} did not finish:\n{agent.Log.Digest()}");
    }

    public static JsonObject Parent(JsonObject completed) => new()
    {
        ["location"] = completed["location"]!.GetValue<string>(), ["checksum"] = completed["checksum"]!.GetValue<string>(),
    };

    public static JsonObject RestoreInfo(string id, JsonObject completed) => new()
    {
        ["id"] = id, ["instance_id"] = "source", ["location"] = completed["location"]!.GetValue<string>(),
        ["type"] = completed["backup_type"]!.GetValue<string>(), ["checksum"] = completed["checksum"]!.GetValue<string>(),
    };
}
