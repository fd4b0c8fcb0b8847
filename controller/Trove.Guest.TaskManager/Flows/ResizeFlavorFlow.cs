using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Resize flavor: the guest stops its engine, the compute driver gives the server the new flavor's memory, and the
/// engine starts again with a my.cnf sized for it (Trove: stop_db, resize, start_db_with_conf_changes). Payload:
/// <c>flavor_id</c>. Resumable.
/// </summary>
public sealed class ResizeFlavorFlow : IInstanceFlow
{
    public string Kind => "resize_flavor";
    public IReadOnlyList<string> Steps { get; } = ["stop_db", "resize_server", "start_db"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var flavorId = run.Payload["flavor_id"]!.GetValue<string>();
        var flavor = (await env.Flavors.ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(f => f.Id == flavorId)
            ?? throw new InvalidOperationException($"flavor {flavorId} no longer exists");
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var (_, version) = await env.VersionAsync(instance.DatastoreVersionId, ct).ConfigureAwait(false);
        var started = env.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (run.Pending("stop_db"))
        {
            await run.BeginAsync("stop_db", ct).ConfigureAwait(false);
            await env.GuestOf(instance).StopDbAsync(ct).ConfigureAwait(false);
        }
        if (run.Pending("resize_server"))
        {
            await run.BeginAsync("resize_server", ct).ConfigureAwait(false);
            var server = await env.Compute.ResizeFlavorAsync(FlowSupport.RequireServer(instance), flavor.RamMb, flavor.Vcpus, ct).ConfigureAwait(false);
            await env.Instances.SetComputeAsync(instance.Id, FlowSupport.ToJson(server), ct).ConfigureAwait(false);
            await env.Instances.SetFlavorAsync(instance.Id, flavor.Id, ct).ConfigureAwait(false);
        }
        await run.BeginAsync("start_db", ct).ConfigureAwait(false);
        await env.Instances.SetServiceStatusAsync(instance.Id, "restarting", ct).ConfigureAwait(false);
        // No config_contents but the new memory: the guest renders its own my.cnf for the new flavor (paths are the guest's).
        await env.GuestOf(instance).StartDbWithConfChangesAsync(null, flavor.RamMb, version.Name, ct).ConfigureAwait(false);
        await env.WaitForStatusAsync(instance.Id, FlowSupport.Active, started, env.Settings.ActiveTimeout, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"resize of the flavor failed: {error.Message}");
}
