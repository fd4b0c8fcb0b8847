namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>Boot firmware of the guests: SeaBIOS, or OVMF (UEFI). Our images boot with either.</summary>
public enum QemuFirmware
{
    Bios,
    Uefi,
}

/// <summary>Settings of the <c>qemu</c> compute driver: each server is a VM booted from the datastore version's image.</summary>
public sealed record QemuComputeOptions
{
    /// <summary>One directory per server (<see cref="QemuServerLayout"/>) and the deployment's SSH key.</summary>
    public required string Root { get; init; }

    /// <summary>Where images are found by id (<see cref="LocalImageRegistry"/>).</summary>
    public required LocalImageRegistry Images { get; init; }

    public QemuFirmware Firmware { get; init; } = QemuFirmware.Bios;

    /// <summary>null: KVM when <c>/dev/kvm</c> can be opened, TCG otherwise; or <c>kvm</c>/<c>tcg</c>.</summary>
    public string? Accelerator { get; init; }

    public string QemuCommand { get; init; } = "qemu-system-x86_64";

    /// <summary>
    /// Host services the guests reach (the broker, the object store), as <c>host:port</c> on the host's loopback. Guest
    /// <c>i</c> sees service <c>i</c> at <c>10.0.2.(100+i):port</c> through a <c>guestfwd</c> rule; nothing else on or
    /// off the host is reachable (<c>restrict=on</c>).
    /// </summary>
    public IReadOnlyList<string> HostServices { get; init; } = [];

    /// <summary>How often agents send heartbeats (<c>report_interval</c>).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a guest gets to power off after ACPI's power button before qemu is stopped.</summary>
    public TimeSpan PowerOffTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Hands out a free loopback port for each hostfwd rule.</summary>
    public Func<int> AllocatePort { get; init; } = FreeLoopbackPort;

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
