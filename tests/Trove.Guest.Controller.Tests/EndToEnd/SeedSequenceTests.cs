using System.Net;
using System.Text.RegularExpressions;
using FluentAssertions;

namespace Trove.Guest.Controller.Tests.EndToEnd;

/// <summary>
/// The seed's command sequence through the real <c>trove</c> command (python3-troveclient) against our controller,
/// with real agents, MariaDB, RabbitMQ and Swift: create with databases and users, backup-create, create from that
/// backup, create two replicas, resize-volume, promote a replica, delete. Each step checks the databases themselves.
/// </summary>
public sealed partial class SeedSequenceTests(ControllerProcess controller) : IClassFixture<ControllerProcess>
{
    [GeneratedRegex(@"\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|")]
    private static partial Regex IdRow();

    private async Task<string> TroveAsync(params string[] command)
    {
        var result = await controller.TroveAsync(command);
        result.ExitCode.Should().Be(0, $"trove {string.Join(' ', command)} failed: {result.StandardError}\n{controller.Log}");
        return ControllerProcess.Unquoted(result.StandardOutput);
    }

    private static string IdOf(string output) => IdRow().Match(output) is { Success: true } m ? m.Groups[1].Value
        : throw new InvalidOperationException($"no id in:\n{output}");

    [Fact]
    public async Task The_seed_sequence_runs_through_the_trove_client()
    {
        // create with databases and users
        var a = IdOf(await TroveAsync("create", "seed-a", "1", "--size", "1", "--databases", "shop", "--users", "app:Str0ng_pass",
            "--datastore", "mariadb", "--datastore_version", "10.11"));
        var shown = await controller.WaitForInstanceAsync(a);
        shown["volume"]!["size"]!.GetValue<int>().Should().Be(1);
        (await controller.SqlAsync(a, "SELECT user FROM mysql.user WHERE user = 'app'")).Should().Be("app");
        await controller.SqlAsync(a, "CREATE TABLE shop.items (id INT PRIMARY KEY, v TEXT); INSERT INTO shop.items VALUES (1, 'before backup');");
        var list = await TroveAsync("list");
        list.Should().MatchRegex($@"\|\s*{a}\s*\|\s*seed-a\s*\|\s*mariadb\s*\|\s*10\.11\s*\|\s*ACTIVE\s*\|\s*1\s*\|\s*1\s*\|");

        // backup-create, then create from that backup
        var backup = IdOf(await TroveAsync("backup-create", a, "nightly"));
        var completed = await controller.WaitForBackupAsync(backup);
        completed["locationRef"]!.GetValue<string>().Should().StartWith(controller.Swift.StorageUrl);
        await controller.WaitForInstanceAsync(a);
        (await TroveAsync("backup-list")).Should().MatchRegex($@"\|\s*{backup}\s*\|\s*{a}\s*\|\s*nightly\s*\|\s*COMPLETED\s*\|");
        var b = IdOf(await TroveAsync("create", "seed-b", "1", "--size", "1", "--backup", backup));
        await controller.WaitForInstanceAsync(b);
        (await controller.SqlAsync(b, "SELECT v FROM shop.items")).Should().Be("before backup");

        // an incremental on the newest backup, restored as a whole chain
        await controller.SqlAsync(a, "INSERT INTO shop.items VALUES (9, 'in the increment');");
        var increment = IdOf(await TroveAsync("backup-create", a, "hourly", "--incremental"));
        (await controller.WaitForBackupAsync(increment))["parent_id"]!.GetValue<string>().Should().Be(backup);
        await controller.WaitForInstanceAsync(a);
        var c = IdOf(await TroveAsync("create", "seed-c", "1", "--size", "1", "--backup", increment));
        await controller.WaitForInstanceAsync(c);
        (await controller.SqlAsync(c, "SELECT count(*) FROM shop.items")).Should().Be("2");
        await TroveAsync("delete", c);

        // two replicas of seed-a
        await TroveAsync("create", "seed-r", "1", "--size", "1", "--replica_of", "seed-a", "--replica_count", "2");
        var instances = (await controller.ApiAsync(HttpMethod.Get, "/instances")).Body!["instances"]!.AsArray();
        var replicas = instances.Where(i => i!["replica_of"]?["id"]?.GetValue<string>() == a).Select(i => i!["id"]!.GetValue<string>()).ToList();
        replicas.Should().HaveCount(2);
        foreach (var r in replicas) await controller.WaitForInstanceAsync(r);
        await controller.SqlAsync(a, "INSERT INTO shop.items VALUES (2, 'replicated');");
        foreach (var r in replicas) await EventuallyAsync(() => controller.SqlAsync(r, "SELECT v FROM shop.items WHERE id = 2"), "replicated");
        (await controller.InstanceAsync(a))["replicas"]!.AsArray().Select(x => x!["id"]!.GetValue<string>()).Should().BeEquivalentTo(replicas);

        // resize-volume: the device and the filesystem grow
        await TroveAsync("resize-volume", a, "2");
        await EventuallyAsync(async () => (await controller.InstanceAsync(a))["volume"]!["size"]!.ToString(), "2");
        await controller.WaitForInstanceAsync(a);
        var server = await controller.ServerAsync(a);
        new DriveInfo(server!.MountPoint).TotalSize.Should().BeGreaterThan(3L << 29, "the filesystem grew to about 2 GB");

        // promote a replica: the old source and the other replica follow it
        await TroveAsync("promote-to-replica-source", replicas[0]);
        await controller.WaitForInstanceAsync(replicas[0]);
        await EventuallyAsync(async () => (await controller.InstanceAsync(a))["replica_of"]?["id"]?.ToString() ?? "", replicas[0]);
        (await controller.InstanceAsync(replicas[1]))["replica_of"]!["id"]!.GetValue<string>().Should().Be(replicas[0]);
        await controller.SqlAsync(replicas[0], "INSERT INTO shop.items VALUES (3, 'after promotion');");
        await EventuallyAsync(() => controller.SqlAsync(a, "SELECT v FROM shop.items WHERE id = 3"), "after promotion");

        // delete everything: replicas before their source
        foreach (var id in new[] { a, replicas[1], b, replicas[0] }) await TroveAsync("delete", id);
        await EventuallyAsync(async () => ((await controller.ApiAsync(HttpMethod.Get, "/instances")).Body!["instances"]!.AsArray().Count).ToString(), "0", 120);
        (await controller.ApiAsync(HttpMethod.Get, $"/instances/{a}")).Status.Should().Be(HttpStatusCode.NotFound);
        Directory.Exists(server.Directory).Should().BeFalse("the server's directory, volume and mount are gone");
        // The create flow declared each guest's queues before its guest ran; the delete flow removes them again.
        var queues = (await controller.Broker.CtlAsync("list_queues", "-q", "--no-table-headers", "name")).Split('\n', StringSplitOptions.TrimEntries);
        foreach (var id in new[] { a, b, c, replicas[0], replicas[1] })
            queues.Should().NotContain([$"guestagent.{id}", $"guestagent.{id}.{id}"], "a deleted instance's queues go with it");
    }

    private async Task EventuallyAsync(Func<Task<string>> probe, string expected, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe();
                if (last == expected) return;
            }
            catch (InvalidOperationException e)
            {
                last = e.Message;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"expected '{expected}', last '{last}'\n{controller.Log}");
    }
}
