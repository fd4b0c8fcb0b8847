using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.State;
using Trove.Guest.State.Migrations;
using Trove.Guest.State.Notifications;
using Trove.Guest.State.Tasks;
using Trove.Guest.TaskManager.Flows;

namespace Trove.Guest.Controller.Tests.Flows;

/// <summary>
/// The task worker over a real SQLite state: tasks are claimed with leases, a stopped worker gives its tasks back and
/// another resumes them from their step, a task whose worker died is taken over when its lease runs out, a flow that
/// cannot be resumed is failed cleanly, and two workers never run the same task.
/// </summary>
public sealed class TaskWorkerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-worker-").FullName;
    private StateDatabase _database = null!;

    public async ValueTask InitializeAsync()
    {
        _database = StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));
        await new Migrator(_database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Only what the worker itself uses: the task store, loggers and the clock. Flows under test touch nothing else.</summary>
    private FlowEnvironment Environment() => new()
    {
        Settings = new FlowSettings { TransportUrl = "rabbit://unused", TemplatesDir = "" },
        Tasks = new TaskStore(_database), Notifications = new NotificationStore(_database), Loggers = NullLoggerFactory.Instance,
        Instances = null!, Backups = null!, Flavors = null!, Datastores = null!, Guests = null!, Compute = null!, Reports = null!,
    };

    private TaskWorker Worker(IInstanceFlow flow, string owner, TimeSpan? lease = null) =>
        new(Environment(), [flow], new TaskWorkerOptions { Owner = owner, Lease = lease ?? TimeSpan.FromSeconds(30), Poll = TimeSpan.FromMilliseconds(100) });

    /// <summary>Three steps; each records who ran it. The second waits for a signal, so a test can stop the worker there.</summary>
    private sealed class RecordingFlow(bool resumable) : IInstanceFlow
    {
        public List<string> Ran { get; } = [];
        public TaskCompletionSource InSecondStep { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource MayFinish { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public List<string> Failures { get; } = [];
        public string Kind => "record";
        public IReadOnlyList<string> Steps { get; } = ["one", "two", "three"];
        public bool Resumable => resumable;

        public async Task RunAsync(FlowRun run, CancellationToken ct)
        {
            foreach (var step in Steps)
            {
                if (!run.Pending(step)) continue;
                await run.BeginAsync(step, ct);
                lock (Ran) Ran.Add($"{step}{(run.Resumed ? " (resumed)" : "")}");
                if (step == "two")
                {
                    InSecondStep.TrySetResult();
                    await MayFinish.Task.WaitAsync(ct);
                }
            }
        }

        public Task FailAsync(FlowRun run, Exception error, CancellationToken ct)
        {
            lock (Failures) Failures.Add(error.Message);
            return Task.CompletedTask;
        }
    }

    private async Task<TaskRecord> WaitForStateAsync(string id, string state)
    {
        var tasks = new TaskStore(_database);
        for (var i = 0; i < 200; i++)
        {
            var task = (await tasks.GetAsync(id, CancellationToken.None))!;
            if (task.State == state) return task;
            await Task.Delay(50);
        }
        throw new TimeoutException($"task {id} did not become {state}");
    }

    [Fact]
    public async Task A_stopped_worker_gives_its_task_back_and_another_resumes_it_at_its_step()
    {
        var flow = new RecordingFlow(resumable: true);
        TaskRecord task;
        await using (var first = Worker(flow, "first"))
        {
            task = await first.StartAsync(null, "record", new JsonObject { ["x"] = 1 }, CancellationToken.None);
            await flow.InSecondStep.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        (await new TaskStore(_database).GetAsync(task.Id, CancellationToken.None))!.Step.Should().Be("two");

        flow.MayFinish.SetResult();
        await using var second = Worker(flow, "second");
        await WaitForStateAsync(task.Id, TaskState.Done);
        flow.Ran.Should().Equal("one", "two", "two (resumed)", "three (resumed)");
    }

    [Fact]
    public async Task A_task_whose_worker_died_is_taken_over_when_its_lease_runs_out()
    {
        var tasks = new TaskStore(_database);
        // A worker that died: it claimed the task (lease 1 s) and never renewed it.
        var orphan = await tasks.StartAsync(null, "record", "start", "{}", CancellationToken.None, owner: "dead", leaseUntil: DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeMilliseconds());
        var flow = new RecordingFlow(resumable: true);
        flow.MayFinish.SetResult();
        await using var worker = Worker(flow, "alive");
        (await worker.ClaimUnheldAsync(CancellationToken.None)).Should().Be(0, "the lease still runs");
        await WaitForStateAsync(orphan.Id, TaskState.Done);
        flow.Ran.Should().Equal("one", "two", "three");
    }

    [Fact]
    public async Task An_interrupted_flow_that_cannot_resume_fails_cleanly()
    {
        var tasks = new TaskStore(_database);
        var left = await tasks.StartAsync(null, "record", "start", "{}", CancellationToken.None);
        await tasks.StepAsync(left.Id, "two", CancellationToken.None);
        var flow = new RecordingFlow(resumable: false);
        await using var worker = Worker(flow, "w");
        var failed = await WaitForStateAsync(left.Id, TaskState.Failed);
        failed.Error.Should().Contain("interrupted at step 'two' by a controller restart");
        flow.Ran.Should().BeEmpty();
        flow.Failures.Should().ContainSingle();
    }

    [Fact]
    public async Task Two_workers_never_run_the_same_task()
    {
        var tasks = new TaskStore(_database);
        var queued = new List<string>();
        for (var i = 0; i < 20; i++) queued.Add((await tasks.StartAsync(null, "record", "start", "{}", CancellationToken.None)).Id);
        var flow = new RecordingFlow(resumable: true);
        flow.MayFinish.SetResult();
        await using (var a = Worker(flow, "a"))
        await using (var b = Worker(flow, "b"))
        {
            foreach (var id in queued) await WaitForStateAsync(id, TaskState.Done);
        }
        flow.Ran.Count(r => r == "one").Should().Be(20, "each task ran once");
    }

    [Fact]
    public async Task An_api_without_the_worker_role_only_queues()
    {
        var flow = new RecordingFlow(resumable: true);
        flow.MayFinish.SetResult();
        TaskRecord task;
        await using (var api = new TaskWorker(Environment(), [flow], new TaskWorkerOptions { RunFlows = false }))
        {
            task = await api.StartAsync(null, "record", [], CancellationToken.None);
            await Task.Delay(300);
            flow.Ran.Should().BeEmpty();
        }
        await using var worker = Worker(flow, "worker");
        await WaitForStateAsync(task.Id, TaskState.Done);
    }
}
