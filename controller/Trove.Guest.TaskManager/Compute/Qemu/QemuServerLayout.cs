namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// The files of one <c>qemu</c> server under its directory (<c>Root/&lt;first 8 of the instance id&gt;</c>), and the
/// deployment-wide files under the driver's root. The CLI's <c>ssh</c> and <c>log-fetch</c> read the same layout.
/// </summary>
public sealed record QemuServerLayout(string Directory)
{
    /// <summary>The server of <paramref name="instanceId"/> under the driver's <paramref name="root"/>.</summary>
    public static QemuServerLayout Of(string root, string instanceId) =>
        new(Path.Combine(Path.GetFullPath(root), ProcessServerLayout.ShortName(instanceId)));

    /// <summary>The deployment's SSH key pair (OpenSSH ed25519), made once per root; its public half goes to every guest.</summary>
    public static string DeploymentKey(string root) => Path.Combine(Path.GetFullPath(root), "ssh", "id_ed25519");

    /// <summary>The boot disk: a qcow2 overlay whose backing file is the registered image.</summary>
    public string BootDisk => Path.Combine(Directory, "boot.qcow2");

    /// <summary>The data volume (qcow2), the guest's <c>/dev/vdb</c>.</summary>
    public string VolumeFile => Path.Combine(Directory, "volume.qcow2");

    /// <summary>The config drive (vfat, label <c>config-2</c>, Nova's <c>openstack/latest</c> layout). Holds secrets: 0600.</summary>
    public string ConfigDrive => Path.Combine(Directory, "config-drive.img");

    /// <summary>OVMF's variable store of a UEFI guest (a copy of OVMF_VARS).</summary>
    public string UefiVars => Path.Combine(Directory, "uefi-vars.fd");

    /// <summary>Everything the guest wrote on its serial console, appended over its boots.</summary>
    public string ConsoleLog => Path.Combine(Directory, "console.log");

    public string PidFile => Path.Combine(Directory, "qemu.pid");

    /// <summary>QMP's unix socket (block_resize, system_powerdown, quit).</summary>
    public string QmpSocket => Path.Combine(Directory, "qmp.sock");

    /// <summary>
    /// <see cref="QemuGuestAccess"/> as JSON: the host port forwarded to the guest's SSH, and the host keys pinned from the
    /// console on first boot.
    /// </summary>
    public string AccessFile => Path.Combine(Directory, "access.json");

    /// <summary><see cref="QemuMachine"/> as JSON: how the VM is started again (after a resize or a host reboot).</summary>
    public string MachineFile => Path.Combine(Directory, "machine.json");
}
