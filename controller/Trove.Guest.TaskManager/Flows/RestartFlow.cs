using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Restart: the guest restarts its engine (which also clears <c>restart required</c>); done when a heartbeat newer than
/// the request says healthy. Resumable: restarting again is what the user asked for anyway.
/// </summary>
public sealed class RestartFlow : IInstanceFlow
{
    public string Kind => "restart";
    public IReadOnlyList<string> Steps { get; } = ["restart", "wait_healthy"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var started = env.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (run.Pending("restart"))
        {
            await run.BeginAsync("restart", ct).ConfigureAwait(false);
            // Trove's control-plane status while it restarts; the conductor keeps "restart required" otherwise.
            await env.Instances.SetServiceStatusAsync(instance.Id, "restarting", ct).ConfigureAwait(false);
            await env.GuestOf(instance).RestartAsync(ct).ConfigureAwait(false);
        }
        await run.BeginAsync("wait_healthy", ct).ConfigureAwait(false);
        await env.WaitForStatusAsync(instance.Id, FlowSupport.Active, started, env.Settings.ActiveTimeout, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"restart failed: {error.Message}");
}
