using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.State.Tasks;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// One run of a flow over its durable task record. <see cref="Step"/> is the last step the flow began; a controller
/// that restarts runs the flow again with it, and every step is written so that running it twice does no harm
/// (a step checks what its earlier run already did).
/// </summary>
public sealed class FlowRun(TaskRecord task, JsonObject payload, IReadOnlyList<string> steps, bool resumed, FlowEnvironment environment, ILogger logger)
{
    private readonly Dictionary<string, TimeSpan> _timings = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private string? _timedStep;

    public TaskRecord Task { get; } = task;
    public string? InstanceId => Task.InstanceId;
    public JsonObject Payload { get; } = payload;
    public FlowEnvironment Env { get; } = environment;
    public ILogger Logger { get; } = logger;

    /// <summary>Whether this run continues one a previous controller left unfinished.</summary>
    public bool Resumed { get; } = resumed;

    /// <summary>The step reached: "start" before the first.</summary>
    public string Step { get; private set; } = task.Step;

    /// <summary>Each step's wall time, in order (what the benchmark's create-to-healthy breakdown quotes).</summary>
    public IReadOnlyDictionary<string, TimeSpan> Timings => _timings;

    /// <summary>True while <paramref name="step"/> has not been passed: the flow still has to run it (again, when resumed there).</summary>
    public bool Pending(string step) => Index(Step) <= Index(step);

    /// <summary>Records that the flow begins <paramref name="step"/> (with what it learned so far in the payload).</summary>
    public async Task BeginAsync(string step, CancellationToken ct)
    {
        EndTiming();
        Step = step;
        _timedStep = step;
        await Env.Tasks.StepAsync(Task.Id, step, ct, Payload.ToJsonString()).ConfigureAwait(false);
        Logger.LogInformation("{Flow} {Instance}: {Step}", Task.Kind, Task.InstanceId, step);
    }

    public void EndTiming()
    {
        if (_timedStep is not null) _timings[_timedStep] = _clock.Elapsed - _timings.Values.Aggregate(TimeSpan.Zero, (a, b) => a + b);
        _timedStep = null;
    }

    private int Index(string step)
    {
        if (step == "start") return -1;
        var index = steps.ToList().IndexOf(step);
        return index >= 0 ? index : throw new InvalidOperationException($"{Task.Kind} has no step '{step}'");
    }
}

/// <summary>A multi-step operation on an instance, driven through the guest's RPC API and the compute driver.</summary>
public interface IInstanceFlow
{
    /// <summary>The task kind it runs (<c>create</c>, <c>backup</c>...).</summary>
    string Kind { get; }

    /// <summary>Its steps in order.</summary>
    IReadOnlyList<string> Steps { get; }

    /// <summary>Whether a run a restart interrupted is continued (true) or failed cleanly (false).</summary>
    bool Resumable { get; }

    Task RunAsync(FlowRun run, CancellationToken ct);

    /// <summary>Leaves the instance in a clear state after <paramref name="error"/> (an error status with a fault, never BUILD for ever).</summary>
    Task FailAsync(FlowRun run, Exception error, CancellationToken ct);
}
