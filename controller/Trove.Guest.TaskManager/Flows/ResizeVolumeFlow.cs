using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Resize volume (grow only, as Trove): the compute driver grows the block device, then the guest's <c>resize_fs</c>
/// grows the filesystem online. Payload: <c>size</c> (GB). Resumable: both steps do nothing when already done.
/// </summary>
public sealed class ResizeVolumeFlow : IInstanceFlow
{
    public string Kind => "resize_volume";
    public IReadOnlyList<string> Steps { get; } = ["grow_device", "resize_fs"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var size = run.Payload["size"]!.GetValue<int>();
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var server = FlowSupport.RequireServer(instance);
        if (run.Pending("grow_device"))
        {
            await run.BeginAsync("grow_device", ct).ConfigureAwait(false);
            if (server.VolumeSizeGb < size) server = await env.Compute.ResizeVolumeAsync(server, size, ct).ConfigureAwait(false);
            await env.Instances.SetComputeAsync(instance.Id, FlowSupport.ToJson(server), ct).ConfigureAwait(false);
        }
        await run.BeginAsync("resize_fs", ct).ConfigureAwait(false);
        await env.GuestOf(instance).ResizeFsAsync(server.DevicePath, server.MountPoint, online: true, ct).ConfigureAwait(false);
        await env.Instances.SetVolumeSizeAsync(instance.Id, size, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"resize of the volume failed: {error.Message}");
}
