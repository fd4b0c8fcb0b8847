using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// The <c>process</c> compute driver, for development and CI: a server is the agent as a local process (detached, so
/// it outlives the controller as a VM would), the engine its supervised child, the volume a sparse ext4 file on a loop
/// device, and the flavor a memory cgroup around them (where the host allows one). Each server lives in
/// <c>Root/&lt;first 8 of its id&gt;</c> (<see cref="ProcessServerLayout"/>).
/// </summary>
public sealed partial class ProcessComputeDriver(ProcessComputeOptions options, ILogger<ProcessComputeDriver> logger) : IComputeDriver
{
    public const string DriverName = "process";

    /// <summary>What our RPC server logs once it consumes: the agent is up.</summary>
    private const string AgentListening = "RPC server listening on";

    private static readonly string[] InheritedEnvironment = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_ARM64"];
    private readonly MemoryCgroups _cgroups = new(options.CgroupParent, logger);

    public string Name => DriverName;

    // Loop devices, setsid, cgroups and file modes: the driver is Linux's, and says so at run time rather than making
    // every caller of the controller's driver list Linux-only.
    [SupportedOSPlatformGuard("linux")]
    private static bool IsLinux => OperatingSystem.IsLinux();

    /// <summary>The files of <paramref name="server"/>.</summary>
    public static ProcessServerLayout LayoutOf(ServerInfo server) => new(server.Directory);

    /// <summary>The memory cgroup <paramref name="server"/>'s agent runs in, or null where limits are not enforced.</summary>
    public static string? MemoryCgroupOf(ServerInfo server)
    {
        var file = LayoutOf(server).CgroupFile;
        return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } group && Directory.Exists(group) ? group : null;
    }

    public async Task<ServerInfo> CreateAsync(ServerRequest request, CancellationToken ct)
    {
        if (!IsLinux) throw new PlatformNotSupportedException("the process compute driver runs on Linux");
        Validate(request);
        var layout = new ProcessServerLayout(Path.Combine(Path.GetFullPath(options.Root), ProcessServerLayout.ShortName(request.InstanceId)));
        if (Directory.Exists(layout.Directory))
            throw new ComputeDriverException($"{layout.Directory} already exists: instance {request.InstanceId}, or another whose id starts alike, has a server there");
        Directory.CreateDirectory(options.Root);
        // The directory holds the agent's secrets and the engine's socket: the owner only.
        Directory.CreateDirectory(layout.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var server = new ServerInfo(DriverName, request.InstanceId, layout.Directory, null, null, layout.MountPoint, options.EngineBindAddress,
            options.AllocatePort(), layout.VolumeFile, request.VolumeSizeGb, request.RamMb);
        try
        {
            LoopVolumes.SetFileSize(layout.VolumeFile, request.VolumeSizeGb);
            server = server with { DevicePath = await LoopVolumes.AttachAsync(layout.VolumeFile, ct).ConfigureAwait(false) };
            AgentConfigWriter.Write(layout, request, options, server.EnginePort);
            Directory.CreateDirectory(layout.StateDir);
            Directory.CreateDirectory(layout.EngineConfigDir);
            var group = _cgroups.Create(CgroupName(request.InstanceId), request.RamMb);
            if (group is not null) await File.WriteAllTextAsync(layout.CgroupFile, group, ct).ConfigureAwait(false);
            server = server with { AgentPid = await StartAgentAsync(layout, group, ct).ConfigureAwait(false) };
            logger.LogInformation("Server {Instance}: agent pid {Pid} in {Directory}, volume {Device} ({Size} GB), engine port {Port}, memory {Ram} MB{Limit}",
                request.InstanceId, server.AgentPid, layout.Directory, server.DevicePath, request.VolumeSizeGb, server.EnginePort, request.RamMb,
                group is null ? " (not enforced)" : $" (cgroup {group})");
            return server;
        }
        catch (Exception e)
        {
            throw await FailedCreate.CleanUpAsync(this, server, e, logger).ConfigureAwait(false);
        }
    }

    public async Task<ServerInfo> ResizeVolumeAsync(ServerInfo server, int newSizeGb, CancellationToken ct)
    {
        if (!IsLinux) throw new PlatformNotSupportedException("the process compute driver runs on Linux");
        if (newSizeGb < server.VolumeSizeGb)
            throw new ComputeDriverException($"the volume of {server.InstanceId} is {server.VolumeSizeGb} GB: it cannot shrink to {newSizeGb} GB");
        if (newSizeGb == server.VolumeSizeGb) return server;
        LoopVolumes.SetFileSize(server.VolumeFile, newSizeGb);
        var device = server.DevicePath;
        if (await LoopVolumes.IsAttachedAsync(device, server.VolumeFile, ct).ConfigureAwait(false))
            await LoopVolumes.SetCapacityAsync(device!, ct).ConfigureAwait(false);
        else
            device = await AttachedDeviceAsync(server, ct).ConfigureAwait(false);
        logger.LogInformation("Server {Instance}: volume {Device} grown from {Old} to {New} GB", server.InstanceId, device, server.VolumeSizeGb, newSizeGb);
        return server with { VolumeSizeGb = newSizeGb, DevicePath = device };
    }

    public async Task<ServerInfo> ResizeFlavorAsync(ServerInfo server, int ramMb, int vcpus, CancellationToken ct)
    {
        if (!IsLinux) throw new PlatformNotSupportedException("the process compute driver runs on Linux");
        if (ramMb <= 0) throw new ArgumentOutOfRangeException(nameof(ramMb), ramMb, "a flavor needs memory");
        var layout = LayoutOf(server);
        var group = MemoryCgroupOf(server);
        var pid = server.AgentPid;
        if (group is not null)
        {
            try
            {
                // cgroup v1 refuses (EBUSY) a limit below what it cannot reclaim; v2 reclaims. Trove stops the database
                // before a flavor resize, so this normally succeeds while everything keeps running.
                MemoryCgroups.SetLimit(group, ramMb);
            }
            catch (IOException e)
            {
                // As a VM's resize reboots it: stop the agent (and with it the engine), apply the limit, start it again.
                logger.LogInformation("Server {Instance}: the new memory limit needs a restart of the agent ({Reason})", server.InstanceId, e.Message);
                await StopServerProcessesAsync(server, ct).ConfigureAwait(false);
                MemoryCgroups.SetLimit(group, ramMb);
                pid = await StartAgentAsync(layout, group, ct).ConfigureAwait(false);
            }
        }
        logger.LogInformation("Server {Instance}: flavor now {Ram} MB{Limit}, {Vcpus} vCPUs (CPUs are not limited by this driver)", server.InstanceId, ramMb,
            group is null ? " (memory not enforced)" : $" (limit {MemoryCgroups.LimitBytes(ramMb) >> 20} MiB)", vcpus);
        return server with { RamMb = ramMb, AgentPid = pid };
    }

    public async Task<ServerInfo> EnsureRunningAsync(ServerInfo server, CancellationToken ct)
    {
        if (!IsLinux) throw new PlatformNotSupportedException("the process compute driver runs on Linux");
        var layout = LayoutOf(server);
        if (await IsRunningAsync(server, ct).ConfigureAwait(false)) return server;
        // A later start than the one the controller recorded (its answer was lost) is still the server's agent.
        if (ReadPid(layout.AgentPidFile) is { } recorded && HostProcesses.Runs(recorded, layout.ConfigDir)) return server with { AgentPid = recorded };
        if (!Directory.Exists(layout.ConfigDir))
            throw new ComputeDriverException($"the server of {server.InstanceId} is gone ({layout.ConfigDir} does not exist): it cannot be started again");

        // What booting the VM again would do: the old engine does not survive a reboot (here it can outlive a killed
        // agent, in a session of its own, and would hold the datadir's lock), the volume is attached and mounted as
        // fstab would, then the agent starts and starts the engine itself when it was prepared.
        logger.LogWarning("Server {Instance}: agent {Pid} is not running; starting it again", server.InstanceId, server.AgentPid);
        await StopServerProcessesAsync(server, ct).ConfigureAwait(false);
        var device = await AttachedDeviceAsync(server, ct).ConfigureAwait(false);
        if (!Mounts.IsMounted(server.MountPoint) && await LoopVolumes.HasFilesystemAsync(device, ct).ConfigureAwait(false))
            await Mounts.MountAsync(device, server.MountPoint, ct).ConfigureAwait(false);
        var group = MemoryCgroupOf(server);
        if (group is null && (group = _cgroups.Create(CgroupName(server.InstanceId), server.RamMb)) is not null)
            await File.WriteAllTextAsync(layout.CgroupFile, group, ct).ConfigureAwait(false);
        var pid = await StartAgentAsync(layout, group, ct).ConfigureAwait(false);
        return server with { AgentPid = pid, DevicePath = device };
    }

    public Task<bool> IsRunningAsync(ServerInfo server, CancellationToken ct) =>
        Task.FromResult(HostProcesses.Runs(server.AgentPid, LayoutOf(server).ConfigDir));

    public async Task DeleteAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = LayoutOf(server);
        await StopServerProcessesAsync(server, ct).ConfigureAwait(false);
        // Before the unmount: whatever is left in the server's cgroup could hold the mount busy.
        if (MemoryCgroupOf(server) is { } group) await MemoryCgroups.RemoveAsync(group, ct).ConfigureAwait(false);
        await Mounts.UnmountAsync(server.MountPoint, ct).ConfigureAwait(false);
        foreach (var device in await LoopVolumes.DevicesOfAsync(server.VolumeFile, ct).ConfigureAwait(false))
            await LoopVolumes.DetachAsync(device, ct).ConfigureAwait(false);
        if (Directory.Exists(layout.Directory)) Directory.Delete(layout.Directory, recursive: true);
        logger.LogInformation("Server {Instance}: deleted", server.InstanceId);
    }

    /// <summary>
    /// Stops the agent (SIGTERM: it stops its engine in order), then the engine if it outlived the agent, then anything
    /// still working in the server's directory (a tool, a client): all by PID, after checking their argv.
    /// </summary>
    private async Task StopServerProcessesAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = LayoutOf(server);
        foreach (var pid in new[] { server.AgentPid, ReadPid(layout.AgentPidFile) }.OfType<int>().Distinct())
            await HostProcesses.StopAsync(pid, layout.ConfigDir, options.StopTimeout, group: true, ct).ConfigureAwait(false);
        var pidFileArgument = "--pid-file=" + layout.EnginePidFile;
        if (ReadPid(layout.EnginePidFile) is { } engine && HostProcesses.Runs(engine, pidFileArgument))
        {
            logger.LogInformation("Server {Instance}: stopping engine {Pid}, which outlived its agent", server.InstanceId, engine);
            await HostProcesses.StopAsync(engine, pidFileArgument, options.StopTimeout, group: false, ct).ConfigureAwait(false);
        }
        foreach (var (pid, argument) in HostProcesses.Using(layout.Directory + "/"))
        {
            logger.LogWarning("Server {Instance}: killing leftover process {Pid}", server.InstanceId, pid);
            HostProcesses.Signal(pid, HostProcesses.SigKill);
            if (!await HostProcesses.WaitGoneAsync(pid, argument, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
                throw new ComputeDriverException($"process {pid} of server {server.InstanceId} survived SIGKILL");
        }
    }

    /// <summary>The volume's loop device: the recorded one when it still is, another one of the file, or a new attachment (after a host reboot).</summary>
    private static async Task<string> AttachedDeviceAsync(ServerInfo server, CancellationToken ct)
    {
        var devices = await LoopVolumes.DevicesOfAsync(server.VolumeFile, ct).ConfigureAwait(false);
        if (server.DevicePath is { } recorded && devices.Contains(recorded)) return recorded;
        return devices.FirstOrDefault() ?? await LoopVolumes.AttachAsync(server.VolumeFile, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the agent detached: its own session and process group (setsid), stdin from /dev/null, output appended to
    /// agent.log, so it neither dies with the controller nor writes into its pipes. The configuration is read from files;
    /// the argv holds paths only, and the environment only what the runtime needs (the controller's may hold secrets).
    /// </summary>
    [SupportedOSPlatform("linux")]
    private async Task<int> StartAgentAsync(ProcessServerLayout layout, string? group, CancellationToken ct)
    {
        var agent = Path.GetFullPath(options.AgentCommand);
        CheckExecutable(agent);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        // exec keeps the PID through sh, setsid (which does not fork: sh does not lead a process group) and the agent.
        foreach (var arg in new[] { "-c", "exec setsid \"$1\" --config-dir \"$2\" </dev/null >>\"$3\" 2>&1", "trove-guest-launch", agent, layout.ConfigDir, layout.AgentLog })
            psi.ArgumentList.Add(arg);
        psi.Environment.Clear();
        foreach (var name in InheritedEnvironment)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value) psi.Environment[name] = value;
        }
        if (!psi.Environment.ContainsKey("PATH")) psi.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        var logStart = File.Exists(layout.AgentLog) ? new FileInfo(layout.AgentLog).Length : 0;
        using var process = Process.Start(psi) ?? throw new ComputeDriverException($"cannot start {agent}");
        var pid = process.Id;
        try
        {
            if (group is not null) MemoryCgroups.Add(group, pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            HostProcesses.Signal(pid, HostProcesses.SigKill);
            throw new ComputeDriverException($"cannot put the agent (pid {pid}) in the memory cgroup {group}: {e.Message}", e);
        }
        await File.WriteAllTextAsync(layout.AgentPidFile, pid.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);

        // A bad configuration or a missing runtime ends the agent at once (exit 78 for its configuration errors).
        // The grace ends early once the agent says it consumes from its topic: then it did not fail at start, and a cast
        // to it is no longer lost. An agent slower than the grace is still fine: the flows ping it before they cast.
        var graceEnd = DateTime.UtcNow + options.StartupGrace;
        while (DateTime.UtcNow < graceEnd)
        {
            if (process.HasExited)
                throw new ComputeDriverException($"the agent {agent} exited at once with code {process.ExitCode}: {LogSince(layout.AgentLog, logStart)}");
            if (LogSince(layout.AgentLog, logStart).Contains(AgentListening, StringComparison.Ordinal)) break;
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        if (!HostProcesses.Runs(pid, layout.ConfigDir) || HostProcesses.CommandLine(pid)?[0] != agent)
        {
            HostProcesses.Signal(pid, HostProcesses.SigKill);
            throw new ComputeDriverException($"process {pid} did not become the agent {agent}: {LogSince(layout.AgentLog, logStart)}");
        }
        return pid;
    }

    [SupportedOSPlatform("linux")]
    private static void CheckExecutable(string agent)
    {
        if (!File.Exists(agent)) throw new ComputeDriverException($"the agent command {agent} does not exist");
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((File.GetUnixFileMode(agent) & anyExecute) == 0) throw new ComputeDriverException($"the agent command {agent} is not executable");
    }

    /// <summary>What the agent wrote since <paramref name="offset"/> (its last 2000 characters), for an error message.</summary>
    private static string LogSince(string log, long offset)
    {
        try
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            var text = new StreamReader(stream).ReadToEnd().Trim();
            return text.Length == 0 ? "(nothing in agent.log)" : text.Length > 2000 ? "..." + text[^2000..] : text;
        }
        catch (IOException e)
        {
            return $"(agent.log unreadable: {e.Message})";
        }
    }

    private static int? ReadPid(string file)
    {
        try
        {
            return int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string CgroupName(string instanceId) => "trove-guest-" + ProcessServerLayout.ShortName(instanceId);

    [SupportedOSPlatform("linux")]
    private void Validate(ServerRequest request)
    {
        // The id names a directory and a cgroup, the manager a configuration section: no path or syntax of their own.
        if (!InstanceId().IsMatch(request.InstanceId)) throw new ArgumentException($"instance id '{request.InstanceId}' must be 8 or more letters, digits or '-'", nameof(request));
        if (!Word().IsMatch(request.DatastoreManager)) throw new ArgumentException($"datastore manager '{request.DatastoreManager}' is not a name", nameof(request));
        if (request.RamMb <= 0 || request.VolumeSizeGb <= 0) throw new ArgumentException("a server needs memory and a volume", nameof(request));
        var socket = Path.Combine(Path.GetFullPath(options.Root), ProcessServerLayout.ShortName(request.InstanceId), "m.sock");
        if (System.Text.Encoding.UTF8.GetByteCount(socket) > ProcessServerLayout.MaxSocketPath)
            throw new ComputeDriverException($"the engine's socket {socket} would be longer than {ProcessServerLayout.MaxSocketPath} bytes: choose a shorter Root");
        CheckExecutable(Path.GetFullPath(options.AgentCommand));
    }

    [GeneratedRegex("^[A-Za-z0-9-]{8,64}$")]
    private static partial Regex InstanceId();

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex Word();
}
