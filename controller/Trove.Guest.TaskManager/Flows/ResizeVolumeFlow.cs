using Trove.Guest.State.Instances;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>
/// Resize volume (grow only), Trove's offline sequence (<c>online_volume_resize = False</c>, its default): the guest
/// stops its engine and unmounts the volume, the compute driver grows the block device, the guest checks and grows the
/// filesystem and mounts it again, and the engine starts. Offline because an online ext4 resize needs a privilege
/// (CAP_SYS_RESOURCE) that containers often lack. Payload: <c>size</c> (GB). Resumable: each step is harmless to repeat.
/// </summary>
public sealed class ResizeVolumeFlow : IInstanceFlow
{
    public string Kind => "resize_volume";
    public IReadOnlyList<string> Steps { get; } = ["stop_db", "unmount", "grow_device", "resize_fs", "mount", "start_db"];
    public bool Resumable => true;

    public async Task RunAsync(FlowRun run, CancellationToken ct)
    {
        var env = run.Env;
        var size = run.Payload["size"]!.GetValue<int>();
        var instance = await run.InstanceAsync(ct).ConfigureAwait(false);
        var server = FlowSupport.RequireServer(instance);
        var guest = env.GuestOf(instance);
        var started = env.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (run.Pending("stop_db"))
        {
            await run.BeginAsync("stop_db", ct).ConfigureAwait(false);
            await guest.StopDbAsync(ct).ConfigureAwait(false);
        }
        if (run.Pending("unmount"))
        {
            await run.BeginAsync("unmount", ct).ConfigureAwait(false);
            await guest.UnmountVolumeAsync(server.DevicePath, server.MountPoint, ct).ConfigureAwait(false);
        }
        if (run.Pending("grow_device"))
        {
            await run.BeginAsync("grow_device", ct).ConfigureAwait(false);
            if (server.VolumeSizeGb < size) server = await env.Compute.ResizeVolumeAsync(server, size, ct).ConfigureAwait(false);
            await env.Instances.SetComputeAsync(instance.Id, FlowSupport.ToJson(server), ct).ConfigureAwait(false);
        }
        if (run.Pending("resize_fs"))
        {
            await run.BeginAsync("resize_fs", ct).ConfigureAwait(false);
            await guest.ResizeFsAsync(server.DevicePath, server.MountPoint, online: false, ct).ConfigureAwait(false);
        }
        if (run.Pending("mount"))
        {
            await run.BeginAsync("mount", ct).ConfigureAwait(false);
            await guest.MountVolumeAsync(server.DevicePath, server.MountPoint, ct).ConfigureAwait(false);
            await env.Instances.SetVolumeSizeAsync(instance.Id, size, ct).ConfigureAwait(false);
        }
        await run.BeginAsync("start_db", ct).ConfigureAwait(false);
        await env.Instances.SetServiceStatusAsync(instance.Id, "restarting", ct).ConfigureAwait(false);
        await guest.RestartAsync(ct).ConfigureAwait(false);
        await env.WaitForStatusAsync(instance.Id, FlowSupport.Active, started, env.Settings.ActiveTimeout, ct).ConfigureAwait(false);
        await env.Instances.SetTaskStatusAsync(instance.Id, InstanceTaskStatus.None, ct).ConfigureAwait(false);
    }

    public Task FailAsync(FlowRun run, Exception error, CancellationToken ct) =>
        run.Env.Instances.SetTaskStatusAsync(run.InstanceId!, InstanceTaskStatus.Error, ct, $"resize of the volume failed at {run.Step}: {error.Message}");
}
