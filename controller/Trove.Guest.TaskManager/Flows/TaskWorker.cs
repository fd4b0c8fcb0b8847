using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.State.Tasks;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>How a worker shares tasks with other workers (or a later controller).</summary>
public sealed record TaskWorkerOptions
{
    /// <summary>
    /// Run flows here (the <c>worker</c> role). Without it the worker only records tasks, which a controller running the
    /// <c>worker</c> role elsewhere claims.
    /// </summary>
    public bool RunFlows { get; init; } = true;

    /// <summary>How long a claimed task stays this worker's without a renewal: a worker that died loses its tasks after it.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the worker looks for unclaimed tasks (and renews its leases).</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>This worker's name in the task records.</summary>
    public string Owner { get; init; } = $"{System.Net.Dns.GetHostName()}:{System.Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>
/// Runs flows in the background, each over a durable task record (Trove's taskmanager). A task is claimed with a lease
/// the worker renews; tasks that no worker holds (queued by an API running alone, or left by a worker that died or a
/// controller that restarted) are claimed by the polling loop: resumable flows continue from their step, the others
/// fail cleanly. Stopping cancels the running flows without failing them and gives their tasks back.
/// </summary>
public sealed class TaskWorker : IAsyncDisposable
{
    private readonly FlowEnvironment _env;
    private readonly TaskWorkerOptions _options;
    private readonly Dictionary<string, IInstanceFlow> _flows;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Task<FlowRun?>> _running = new();
    private readonly Task _polling;

    public TaskWorker(FlowEnvironment env, IEnumerable<IInstanceFlow> flows, TaskWorkerOptions? options = null)
    {
        _env = env;
        _options = options ?? new TaskWorkerOptions();
        _flows = flows.ToDictionary(f => f.Kind);
        _logger = env.Loggers.CreateLogger<TaskWorker>();
        _polling = _options.RunFlows ? Task.Run(PollAsync) : Task.CompletedTask;
    }

    /// <summary>Every flow this controller has.</summary>
    public static IReadOnlyList<IInstanceFlow> AllFlows() =>
    [
        new CreateInstanceFlow(), new DeleteInstanceFlow(), new RestartFlow(), new ResizeVolumeFlow(), new ResizeFlavorFlow(), new BackupFlow(),
        new CreateReplicasFlow(), new PromoteFlow(), new EjectSourceFlow(), new DetachReplicaFlow(),
    ];

    public FlowEnvironment Environment => _env;

    /// <summary>Records the task and, when this worker runs flows, starts it here; returns at once.</summary>
    public async Task<TaskRecord> StartAsync(string? instanceId, string kind, JsonObject payload, CancellationToken ct)
    {
        if (!_flows.ContainsKey(kind)) throw new ArgumentException($"no flow '{kind}'", nameof(kind));
        var task = _options.RunFlows
            ? await _env.Tasks.StartAsync(instanceId, kind, "start", payload.ToJsonString(), ct, _options.Owner, LeaseEnd()).ConfigureAwait(false)
            : await _env.Tasks.StartAsync(instanceId, kind, "start", payload.ToJsonString(), ct).ConfigureAwait(false);
        if (_options.RunFlows) Launch(task, resumed: false);
        return task;
    }

    /// <summary>Claims the tasks no worker holds and runs them; returns how many. The polling loop calls it; tests may too.</summary>
    public async Task<int> ClaimUnheldAsync(CancellationToken ct)
    {
        var claimed = await _env.Tasks.ClaimAsync(_options.Owner, LeaseEnd(), ct).ConfigureAwait(false);
        foreach (var task in claimed)
        {
            if (_running.TryGetValue(task.Id, out var already) && !already.IsCompleted) continue;
            var resumed = task.Step != "start";
            if (resumed) _logger.LogWarning("Task {Task} ({Kind} of {Instance}) was left at step {Step}; taking it over", task.Id, task.Kind, task.InstanceId, task.Step);
            Launch(task, resumed);
        }
        return claimed.Count;
    }

    private long LeaseEnd() => (_env.Clock.GetUtcNow() + _options.Lease).ToUnixTimeMilliseconds();

    private async Task PollAsync()
    {
        var ct = _stopping.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _env.Tasks.RenewAsync(_options.Owner, LeaseEnd(), ct).ConfigureAwait(false);
                await ClaimUnheldAsync(ct).ConfigureAwait(false);
                await Task.Delay(_options.Poll, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The state database may be briefly unavailable; the next round tries again.
                _logger.LogWarning("Task polling failed: {Error}", e.Message);
                await Task.Delay(_options.Poll, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a task this worker runs; returns its run (null when it was stopped before it ended).</summary>
    public async Task<FlowRun?> WaitAsync(string taskId, CancellationToken ct = default) =>
        _running.TryGetValue(taskId, out var running) ? await running.WaitAsync(ct).ConfigureAwait(false) : null;

    private void Launch(TaskRecord task, bool resumed) =>
        _running[task.Id] = Task.Run(() => RunAsync(task, resumed));

    private async Task<FlowRun?> RunAsync(TaskRecord task, bool resumed)
    {
        var ct = _stopping.Token;
        if (!_flows.TryGetValue(task.Kind, out var flow))
        {
            await _env.Tasks.FinishAsync(task.Id, $"this controller has no flow '{task.Kind}'", CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        var payload = JsonNode.Parse(task.PayloadJson) as JsonObject ?? [];
        var run = new FlowRun(task, payload, flow.Steps, resumed, _env, _env.Loggers.CreateLogger("Trove.Guest.TaskManager.Flows." + flow.GetType().Name));
        try
        {
            if (resumed && !flow.Resumable)
                throw new FlowInterruptedException($"{task.Kind} was interrupted at step '{task.Step}' by a controller restart");
            await flow.RunAsync(run, ct).ConfigureAwait(false);
            run.EndTiming();
            await _env.Tasks.FinishAsync(task.Id, null, CancellationToken.None).ConfigureAwait(false);
            _logger.LogInformation("{Kind} of {Instance} done: {Steps}", task.Kind, task.InstanceId,
                string.Join(", ", run.Timings.Select(t => $"{t.Key} {t.Value.TotalMilliseconds:0} ms")));
            return run;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The controller stops: the task stays running in the store and the next worker resumes it.
            _logger.LogInformation("{Kind} of {Instance} stopped at step {Step}; another worker resumes it", task.Kind, task.InstanceId, run.Step);
            await _env.Tasks.ReleaseAsync(task.Id, CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        catch (Exception e)
        {
            run.EndTiming();
            _logger.LogError("{Kind} of {Instance} failed at step {Step}: {Error}", task.Kind, task.InstanceId, run.Step, e.Message);
            try
            {
                await flow.FailAsync(run, e, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception cleanup)
            {
                _logger.LogError("{Kind} of {Instance}: recording the failure failed too: {Error}", task.Kind, task.InstanceId, cleanup.Message);
            }
            await _env.Tasks.FinishAsync(task.Id, $"{run.Step}: {e.Message}", CancellationToken.None).ConfigureAwait(false);
            return run;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running.Values.Append(_polling)).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("Some flows did not stop within 30 s");
        }
        _stopping.Dispose();
    }
}

/// <summary>A flow that cannot be continued after a controller restart.</summary>
public sealed class FlowInterruptedException(string message) : Exception(message);
