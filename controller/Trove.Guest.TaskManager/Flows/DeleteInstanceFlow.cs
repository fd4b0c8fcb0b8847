using Microsoft.Extensions.Logging;
using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>Delete: the server and its volume go, then the instance disappears from the API (its backups stay). Resumable: deleting twice is harmless.</summary>
public sealed class DeleteInstanceFlow : IInstanceFlow
{
    public string Kind => "delete";
    public IReadOnlyList<string> Steps { get; } = ["delete_server", "forget"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        if (run.Pending("delete_server"))
        {
            await run.BeginAsync("delete_server", ct).ConfigureAwait(false);
            if (FlowSupport.Server(instance) is { } server) await run.Env.Compute.DeleteAsync(server, ct).ConfigureAwait(false);
        }
        await run.BeginAsync("forget", ct).ConfigureAwait(false);
        await DeleteGuestQueuesAsync(run, instance, ct).ConfigureAwait(false);
        await run.Env.Instances.MarkDeletedAsync(instance.Id, ct).ConfigureAwait(false);
    }

    /// <summary>How long the delete waits for a broker that is away (the client waits out a lost connection) before it leaves the queues.</summary>
    private static readonly TimeSpan QueueDeleteWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The guest's queues outlive its server (they are not auto-delete, and the create flow declares them before the guest
    /// runs). A broker that cannot be reached within <see cref="QueueDeleteWait"/> does not stop the delete: the queues
    /// are left behind, with a warning.
    /// </summary>
    private static async Task DeleteGuestQueuesAsync(FlowRun run, InstanceRecord instance, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(QueueDeleteWait);
        try
        {
            await run.Env.GuestOf(instance).DeleteQueuesAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            run.Env.Loggers.CreateLogger<DeleteInstanceFlow>().LogWarning("The queues of instance {InstanceId} were not deleted: {Reason}", instance.Id, e.Message);
        }
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"delete failed: {error.Message}");
}
