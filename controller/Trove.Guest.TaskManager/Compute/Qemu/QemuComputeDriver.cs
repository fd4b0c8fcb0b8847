using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// The <c>qemu</c> compute driver: a server is a VM booted from its datastore version's image (a qcow2 overlay over
/// the registered image), with a qcow2 data volume (<c>/dev/vdb</c>), a config drive holding what Trove's taskmanager
/// injects (the agent's two files, the deployment's SSH key) and user-mode networking that is confined to the
/// host's loopback: the guest reaches only <see cref="QemuComputeOptions.HostServices"/> (through <c>guestfwd</c>),
/// and the host reaches the guest's SSH and engine through <c>hostfwd</c> on 127.0.0.1. KVM where it can be opened,
/// TCG otherwise. qemu runs daemonized, so guests outlive the controller as VMs outlive Nova's API.
/// </summary>
public sealed partial class QemuComputeDriver(QemuComputeOptions options, ILogger<QemuComputeDriver> logger) : IComputeDriver
{
    public const string DriverName = "qemu";

    /// <summary>The volume's device in the guest: the second virtio disk.</summary>
    public const string GuestVolumeDevice = "/dev/vdb";

    public string Name => DriverName;

    /// <summary>The address guests reach host service <paramref name="index"/> at.</summary>
    public static string GuestServiceAddress(int index) => $"10.0.2.{100 + index}";

    /// <summary>The URL a guest uses for a host URL: a loopback service of <see cref="QemuComputeOptions.HostServices"/> moves to its guestfwd address.</summary>
    public string GuestUrl(string hostUrl)
    {
        if (!Uri.TryCreate(hostUrl, UriKind.Absolute, out var uri)) return hostUrl;
        for (var i = 0; i < options.HostServices.Count; i++)
        {
            var (host, port) = SplitEndpoint(options.HostServices[i]);
            if (port == uri.Port && (uri.Host == host || (IsLoopback(uri.Host) && IsLoopback(host))))
                return new UriBuilder(uri) { Host = GuestServiceAddress(i) }.Uri.ToString().TrimEnd('/') + (hostUrl.EndsWith('/') ? "/" : "");
        }
        return hostUrl;
    }

    /// <summary>The transport URL with every loopback broker host replaced by its guestfwd address (several hosts: comma-separated).</summary>
    public string GuestTransportUrl(string transportUrl) =>
        BrokerHost().Replace(transportUrl, m =>
        {
            var port = int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture);
            for (var i = 0; i < options.HostServices.Count; i++)
            {
                var (host, p) = SplitEndpoint(options.HostServices[i]);
                if (p == port && (m.Groups["host"].Value == host || (IsLoopback(m.Groups["host"].Value) && IsLoopback(host))))
                    return m.Groups["lead"].Value + GuestServiceAddress(i) + ":" + port.ToString(CultureInfo.InvariantCulture);
            }
            return m.Value;
        });

    public async Task<ServerInfo> CreateAsync(ServerRequest request, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the qemu compute driver runs on Linux");
        Validate(request);
        var layout = QemuServerLayout.Of(options.Root, request.InstanceId);
        if (Directory.Exists(layout.Directory))
            throw new ComputeDriverException($"{layout.Directory} already exists: instance {request.InstanceId}, or another whose id starts alike, has a server there");
        var image = options.Images.Find(request.ImageId, request.DatastoreManager, request.DatastoreVersion);
        var firmware = FirmwareOf(image);
        Directory.CreateDirectory(layout.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (mountPoint, guestPort) = EngineOf(request.DatastoreManager);
        var access = new QemuGuestAccess(options.AllocatePort(), options.AllocatePort(), []);
        var server = new ServerInfo(DriverName, request.InstanceId, layout.Directory, null, GuestVolumeDevice, mountPoint, "127.0.0.1", access.EnginePort,
            layout.VolumeFile, request.VolumeSizeGb, request.RamMb);
        try
        {
            await HostCommands.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", options.Images.PathOf(image.Id), layout.BootDisk], ct)
                .ConfigureAwait(false);
            await HostCommands.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", layout.VolumeFile, request.VolumeSizeGb.ToString(CultureInfo.InvariantCulture) + "G"], ct)
                .ConfigureAwait(false);
            var publicKey = await DeploymentKeys.EnsureAsync(options.Root, ct).ConfigureAwait(false);
            var (guestInfo, agentConfig) = AgentConfigText.Render(request, new(StringComparer.Ordinal)
            {
                ["DEFAULT"] = new(StringComparer.Ordinal)
                {
                    ["transport_url"] = GuestTransportUrl(request.TransportUrl),
                    ["control_exchange"] = request.ControlExchange,
                    ["conductor_queue"] = request.ConductorTopic,
                    ["report_interval"] = Math.Max(1, (int)options.ReportInterval.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    ["volume_fstype"] = "ext4",
                },
                [request.DatastoreManager] = new(StringComparer.Ordinal) { ["mount_point"] = mountPoint, ["device_path"] = GuestVolumeDevice },
            });
            await ConfigDrive.WriteAsync(layout.ConfigDrive, request.InstanceId, "trove-" + ProcessServerLayout.ShortName(request.InstanceId),
                new Dictionary<string, string> { ["trove-guest"] = publicKey },
                [new InjectedFile("/etc/trove/conf.d/guest_info.conf", guestInfo), new InjectedFile("/etc/trove/conf.d/trove-guestagent.conf", agentConfig)], ct)
                .ConfigureAwait(false);
            access.Write(layout.AccessFile);
            var machine = new QemuMachine(firmware, Math.Max(1, request.Vcpus), guestPort);
            machine.Write(layout.MachineFile);
            if (firmware == QemuFirmware.Uefi) File.Copy(OvmfVarsTemplate, layout.UefiVars);
            var pid = await StartAsync(layout, request.RamMb, machine, access, ct).ConfigureAwait(false);
            logger.LogInformation("Server {Instance}: qemu {Pid} ({Firmware}, {Accel}) from image {Image}, volume {Size} GB, {Ram} MB, ssh 127.0.0.1:{Ssh}, engine 127.0.0.1:{Port}",
                request.InstanceId, pid, firmware, Accelerator, image.Id, request.VolumeSizeGb, request.RamMb, access.SshPort, access.EnginePort);
            return server with { AgentPid = pid };
        }
        catch (Exception e)
        {
            throw await FailedCreate.CleanUpAsync(this, server, e, logger).ConfigureAwait(false);
        }
    }

    /// <summary>Grows the volume: QMP's <c>block_resize</c> while the VM runs (the guest sees the new size at once), <c>qemu-img resize</c> otherwise.</summary>
    public async Task<ServerInfo> ResizeVolumeAsync(ServerInfo server, int newSizeGb, CancellationToken ct)
    {
        if (newSizeGb < server.VolumeSizeGb)
            throw new ComputeDriverException($"the volume of {server.InstanceId} is {server.VolumeSizeGb} GB: it cannot shrink to {newSizeGb} GB");
        if (newSizeGb == server.VolumeSizeGb) return server;
        var layout = new QemuServerLayout(server.Directory);
        if (await IsRunningAsync(server, ct).ConfigureAwait(false))
        {
            await using var qmp = await QmpClient.ConnectAsync(layout.QmpSocket, ct).ConfigureAwait(false);
            await qmp.ExecuteAsync("block_resize", new JsonObject { ["device"] = "volume", ["size"] = (long)newSizeGb << 30 }, ct).ConfigureAwait(false);
        }
        else
        {
            await HostCommands.RunAsync("qemu-img", ["resize", "-q", layout.VolumeFile, newSizeGb.ToString(CultureInfo.InvariantCulture) + "G"], ct).ConfigureAwait(false);
        }
        logger.LogInformation("Server {Instance}: volume grown from {Old} to {New} GB", server.InstanceId, server.VolumeSizeGb, newSizeGb);
        return server with { VolumeSizeGb = newSizeGb };
    }

    /// <summary>A new flavor, as Nova's resize does it: the VM powers off and boots again with the new memory and CPUs.</summary>
    public async Task<ServerInfo> ResizeFlavorAsync(ServerInfo server, int ramMb, int vcpus, CancellationToken ct)
    {
        if (ramMb <= 0) throw new ArgumentOutOfRangeException(nameof(ramMb), ramMb, "a flavor needs memory");
        var layout = new QemuServerLayout(server.Directory);
        await PowerOffAsync(server, ct).ConfigureAwait(false);
        var machine = QemuMachine.Read(layout.MachineFile) with { Vcpus = Math.Max(1, vcpus) };
        machine.Write(layout.MachineFile);
        var pid = await StartAsync(layout, ramMb, machine, QemuGuestAccess.Read(layout.AccessFile), ct).ConfigureAwait(false);
        logger.LogInformation("Server {Instance}: rebooted with {Ram} MB and {Vcpus} vCPUs", server.InstanceId, ramMb, vcpus);
        return server with { RamMb = ramMb, AgentPid = pid };
    }

    public async Task<ServerInfo> EnsureRunningAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = new QemuServerLayout(server.Directory);
        if (ReadPid(layout.PidFile) is { } pid && HostProcesses.Runs(pid, layout.PidFile)) return server with { AgentPid = pid };
        if (!File.Exists(layout.BootDisk))
            throw new ComputeDriverException($"the server of {server.InstanceId} is gone ({layout.BootDisk} does not exist): it cannot be started again");
        logger.LogWarning("Server {Instance}: the VM is not running; booting it again", server.InstanceId);
        var started = await StartAsync(layout, server.RamMb, QemuMachine.Read(layout.MachineFile), QemuGuestAccess.Read(layout.AccessFile), ct).ConfigureAwait(false);
        return server with { AgentPid = started };
    }

    public Task<bool> IsRunningAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = new QemuServerLayout(server.Directory);
        PinHostKeys(layout);
        return Task.FromResult(ReadPid(layout.PidFile) is { } pid && HostProcesses.Runs(pid, layout.PidFile));
    }

    public async Task DeleteAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = new QemuServerLayout(server.Directory);
        if (ReadPid(layout.PidFile) is { } pid && HostProcesses.Runs(pid, layout.PidFile))
        {
            // The data is being deleted with the VM: no need for a clean shutdown.
            try
            {
                await using var qmp = await QmpClient.ConnectAsync(layout.QmpSocket, ct).ConfigureAwait(false);
                await qmp.ExecuteAsync("quit", null, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ComputeDriverException)
            {
                logger.LogWarning("Server {Instance}: QMP quit failed ({Reason}); killing qemu {Pid}", server.InstanceId, e.Message, pid);
            }
            if (!await HostProcesses.WaitGoneAsync(pid, layout.PidFile, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
            {
                HostProcesses.Signal(pid, HostProcesses.SigKill);
                if (!await HostProcesses.WaitGoneAsync(pid, layout.PidFile, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
                    throw new ComputeDriverException($"qemu {pid} of server {server.InstanceId} survived SIGKILL");
            }
        }
        if (Directory.Exists(layout.Directory)) Directory.Delete(layout.Directory, recursive: true);
        logger.LogInformation("Server {Instance}: deleted", server.InstanceId);
    }

    /// <summary>
    /// Pins the guest's SSH host keys from the FIRST block its console printed (its first boot, before anything else
    /// could have run in it). Later blocks never replace a pin: a changed key is for an operator to look at.
    /// </summary>
    public static bool PinHostKeys(QemuServerLayout layout)
    {
        if (!File.Exists(layout.AccessFile) || !File.Exists(layout.ConsoleLog)) return false;
        var access = QemuGuestAccess.Read(layout.AccessFile);
        if (access.HostKeys.Count > 0) return true;
        string console;
        using (var stream = new FileStream(layout.ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)) console = new StreamReader(stream).ReadToEnd();
        var keys = ConsoleHostKeys.First(console);
        if (keys.Count == 0) return false;
        (access with { HostKeys = keys }).Write(layout.AccessFile);
        return true;
    }

    /// <summary>
    /// <see cref="PinHostKeys"/>, again every half second until the guest has printed its keys or <paramref name="limit"/>
    /// passes. A first boot prints them once the database's own units are done with the boot's CPU, which can be just
    /// after the instance is healthy.
    /// </summary>
    public static async Task<bool> WaitForHostKeysAsync(QemuServerLayout layout, TimeSpan limit, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!PinHostKeys(layout))
        {
            if (clock.Elapsed >= limit) return false;
            await Task.Delay(500, ct).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>The image's <c>hw_firmware_type</c> (Nova's image property), else the driver's default.</summary>
    private QemuFirmware FirmwareOf(LocalImage image) =>
        image.Properties?.GetValueOrDefault("hw_firmware_type") switch
        {
            null => options.Firmware,
            "bios" => QemuFirmware.Bios,
            "uefi" => QemuFirmware.Uefi,
            var other => throw new ComputeDriverException($"image {image.Id} asks for firmware '{other}' (hw_firmware_type: bios or uefi)"),
        };

    /// <summary>Set once KVM failed to start a VM here (a /dev/kvm that opens but cannot run guests, as under some nested hypervisors).</summary>
    private volatile bool _kvmFailed;

    private string Accelerator => options.Accelerator ?? (!_kvmFailed && CanOpenKvm() ? "kvm" : "tcg");

    private const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    private const string OvmfVarsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd";

    private async Task<int> StartAsync(QemuServerLayout layout, int ramMb, QemuMachine machine, QemuGuestAccess access, CancellationToken ct)
    {
        var network = new List<string> { "user", "id=net0", "restrict=on",
            $"hostfwd=tcp:127.0.0.1:{access.SshPort}-:22", $"hostfwd=tcp:127.0.0.1:{access.EnginePort}-:{machine.GuestEnginePort}" };
        for (var i = 0; i < options.HostServices.Count; i++)
        {
            var (host, port) = SplitEndpoint(options.HostServices[i]);
            // One socat per connection (the chardev form of guestfwd carries only the first: ../shared/spec/qemu-guests.md).
            network.Add($"guestfwd=tcp:{GuestServiceAddress(i)}:{port}-cmd:socat - TCP:{host}:{port}");
        }
        var accel = Accelerator;
        List<string> args =
        [
            "-name", "trove-guest-" + Path.GetFileName(layout.Directory),
            "-accel", accel, "-m", ramMb.ToString(CultureInfo.InvariantCulture), "-smp", machine.Vcpus.ToString(CultureInfo.InvariantCulture),
            "-display", "none", "-vga", "none",
            "-chardev", $"file,id=console,path={layout.ConsoleLog},append=on", "-serial", "chardev:console",
            "-drive", $"file={layout.BootDisk},format=qcow2,if=virtio,id=boot",
            "-drive", $"file={layout.VolumeFile},format=qcow2,if=virtio,id=volume",
            "-drive", $"file={layout.ConfigDrive},format=raw,if=virtio,id=config,readonly=on",
            "-netdev", string.Join(',', network), "-device", "virtio-net-pci,netdev=net0",
            "-qmp", $"unix:{layout.QmpSocket},server=on,wait=off",
            "-pidfile", layout.PidFile, "-daemonize",
        ];
        if (accel == "kvm") args.AddRange(["-cpu", "host"]);
        if (machine.Firmware == QemuFirmware.Uefi)
            args.AddRange(["-drive", $"if=pflash,format=raw,readonly=on,file={OvmfCode}", "-drive", $"if=pflash,format=raw,file={layout.UefiVars}"]);
        if (File.Exists(layout.PidFile)) File.Delete(layout.PidFile);
        // -daemonize: qemu returns once the VM runs (or says why it cannot); its argv holds paths and ports only.
        try
        {
            await HostCommands.RunAsync(options.QemuCommand, args, ct).ConfigureAwait(false);
        }
        catch (ComputeDriverException e) when (accel == "kvm" && options.Accelerator is null)
        {
            // Chosen by probing, not by the operator: fall back to TCG for this and every later VM.
            logger.LogWarning("KVM could not start a VM ({Reason}); using TCG from now on", e.Message.Split('\n').LastOrDefault(l => l.Length > 0));
            _kvmFailed = true;
            return await StartAsync(layout, ramMb, machine, access, ct).ConfigureAwait(false);
        }
        return ReadPid(layout.PidFile) is { } pid && HostProcesses.Runs(pid, layout.PidFile)
            ? pid
            : throw new ComputeDriverException($"qemu for {layout.Directory} did not stay up (no process behind {layout.PidFile})");
    }

    private async Task PowerOffAsync(ServerInfo server, CancellationToken ct)
    {
        var layout = new QemuServerLayout(server.Directory);
        if (ReadPid(layout.PidFile) is not { } pid || !HostProcesses.Runs(pid, layout.PidFile)) return;
        await using (var qmp = await QmpClient.ConnectAsync(layout.QmpSocket, ct).ConfigureAwait(false))
            await qmp.ExecuteAsync("system_powerdown", null, ct).ConfigureAwait(false);
        if (await HostProcesses.WaitGoneAsync(pid, layout.PidFile, options.PowerOffTimeout, ct).ConfigureAwait(false)) return;
        logger.LogWarning("Server {Instance}: no power-off within {Timeout} s; stopping qemu", server.InstanceId, options.PowerOffTimeout.TotalSeconds);
        await HostProcesses.StopAsync(pid, layout.PidFile, TimeSpan.FromSeconds(10), group: false, ct).ConfigureAwait(false);
    }

    /// <summary>Where the engine keeps its data and which port it listens on, by manager (Trove's defaults).</summary>
    private static (string MountPoint, int GuestPort) EngineOf(string manager) => manager switch
    {
        "mysql" or "mariadb" or "percona" => ("/var/lib/mysql", 3306),
        "postgresql" => ("/var/lib/postgresql", 5432),
        "redis" => ("/var/lib/redis", 6379),
        _ => throw new ComputeDriverException($"the qemu driver does not know where datastore manager '{manager}' keeps its data"),
    };

    /// <summary>
    /// KVM runs guests only where the CPU offers virtualisation (vmx/svm in /proc/cpuinfo) and /dev/kvm opens: a nested
    /// hypervisor can expose /dev/kvm without either, and then VMs start but never run.
    /// </summary>
    private static bool CanOpenKvm()
    {
        try
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText("/proc/cpuinfo"), @"^flags\s*:.*\b(vmx|svm)\b", RegexOptions.Multiline)) return false;
            using var kvm = File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static (string Host, int Port) SplitEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            throw new ComputeDriverException($"host service '{endpoint}' is not host:port");
        return (endpoint[..colon], port);
    }

    private static bool IsLoopback(string host) => host is "127.0.0.1" or "localhost" or "::1" or "[::1]";

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

    private static void Validate(ServerRequest request)
    {
        if (!InstanceId().IsMatch(request.InstanceId)) throw new ArgumentException($"instance id '{request.InstanceId}' must be 8 or more letters, digits or '-'", nameof(request));
        if (request.RamMb <= 0 || request.VolumeSizeGb <= 0) throw new ArgumentException("a server needs memory and a volume", nameof(request));
        _ = EngineOf(request.DatastoreManager);
    }

    [GeneratedRegex("^[A-Za-z0-9-]{8,64}$")]
    private static partial Regex InstanceId();

    /// <summary>A <c>host:port</c> in a transport URL: after <c>@</c> (credentials), <c>//</c> or <c>,</c> (more hosts).</summary>
    [GeneratedRegex(@"(?<lead>@|//|,)(?<host>\[[^\]]+\]|[^:/@,\[\]]+):(?<port>\d+)")]
    private static partial Regex BrokerHost();
}
