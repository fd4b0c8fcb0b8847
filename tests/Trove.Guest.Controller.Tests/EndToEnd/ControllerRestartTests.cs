using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Tasks;

namespace Trove.Guest.Controller.Tests.EndToEnd;

/// <summary>
/// The controller killed (SIGKILL) in the middle of a create and of a backup, then started again on the same state:
/// the new controller takes the unfinished tasks over once their lease runs out and both finish; nothing stays BUILD.
/// </summary>
public sealed class ControllerRestartTests(ControllerProcess controller) : IClassFixture<ControllerProcess>
{
    private async Task<TaskRecord> WaitForStepAsync(string instanceId, string kind, IReadOnlyCollection<string> steps, int seconds = 120)
    {
        var tasks = new TaskStore(controller.Database);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var task = (await tasks.ForInstanceAsync(instanceId, CancellationToken.None)).FirstOrDefault(t => t.Kind == kind);
            if (task is not null && steps.Contains(task.Step)) return task;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the {kind} task of {instanceId} did not reach {string.Join("/", steps)}\n{controller.Log}");
    }

    private Task<string> CreateAsync(string name) => controller.CreateInstanceAsync(name, new JsonObject
    {
        ["databases"] = new JsonArray(new JsonObject { ["name"] = "appdb" }),
        ["users"] = new JsonArray(new JsonObject { ["name"] = "app", ["password"] = "Str0ng_pass", ["databases"] = new JsonArray(new JsonObject { ["name"] = "appdb" }) }),
    });

    [Fact]
    public async Task A_create_interrupted_by_a_restart_finishes()
    {
        var id = await CreateAsync("restart-create");
        // The guest has its prepare: the restarted controller must wait for it, not send it again.
        var before = await WaitForStepAsync(id, "create", ["wait_healthy"]);
        await controller.KillAsync();
        (await controller.InstanceAsync(id).ContinueWith(t => t.IsFaulted)).Should().BeTrue("the API is down");
        await controller.StartAsync();

        var instance = await controller.WaitForInstanceAsync(id);
        instance["status"]!.GetValue<string>().Should().Be("ACTIVE");
        // The instance shows ACTIVE a moment before the worker records its task done (a busy CI host widens that moment).
        var task = (await new TaskStore(controller.Database).GetAsync(before.Id, CancellationToken.None))!;
        for (var wait = 0; wait < 100 && task.State == TaskState.Running; wait++)
        {
            await Task.Delay(100);
            task = (await new TaskStore(controller.Database).GetAsync(before.Id, CancellationToken.None))!;
        }
        task.State.Should().Be(TaskState.Done, task.Error);
        (await controller.SqlAsync(id, "SELECT user FROM mysql.user WHERE user = 'app'")).Should().Be("app", "the request's users were created once");
        controller.Log.Should().Contain("taking it over");
    }

    [Fact]
    public async Task A_backup_interrupted_by_a_restart_completes()
    {
        var id = await CreateAsync("restart-backup");
        await controller.WaitForInstanceAsync(id);
        await controller.SqlAsync(id, "CREATE TABLE appdb.t (id INT PRIMARY KEY); INSERT INTO appdb.t VALUES (1), (2), (3);");
        var (status, body) = await controller.ApiAsync(HttpMethod.Post, "/backups",
            new JsonObject { ["backup"] = new JsonObject { ["name"] = "interrupted", ["instance"] = id } }.ToJsonString());
        status.Should().Be(System.Net.HttpStatusCode.Accepted, body?.ToJsonString());
        var backupId = body!["backup"]!["id"]!.GetValue<string>();
        await WaitForStepAsync(id, "backup", ["create_backup", "wait_backup"]);
        await controller.KillAsync();
        await controller.StartAsync();

        var backup = await controller.WaitForBackupAsync(backupId);
        backup["size"]!.GetValue<double>().Should().BeGreaterThan(0);
        (await new BackupStore(controller.Database).GetAsync(backupId, null, CancellationToken.None))!.Checksum.Should().NotBeNullOrEmpty();
        await controller.WaitForInstanceAsync(id);
    }
}
