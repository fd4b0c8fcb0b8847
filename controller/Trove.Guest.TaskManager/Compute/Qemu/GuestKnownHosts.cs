namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// An OpenSSH known_hosts file of one guest, next to its access.json, made from the pinned host keys, so that an operator's
/// own <c>ssh -o UserKnownHostsFile=FILE -p PORT root@127.0.0.1</c> checks the same keys <see cref="GuestShell"/> does.
/// </summary>
public static class GuestKnownHosts
{
    public static string FileOf(QemuServerLayout layout) => Path.Combine(layout.Directory, "known_hosts");

    /// <summary>One line per pinned key: <c>[127.0.0.1]:PORT ssh-ed25519 AAAA...</c> (OpenSSH's form for a port other than 22).</summary>
    public static string Text(QemuGuestAccess access) =>
        string.Concat(access.HostKeys.Select(SshHostKey.Parse).Select(key => $"[{GuestShell.Host}]:{access.SshPort} {key.OpenSshLine}\n"));

    /// <summary>Writes the file (anew, so that it follows the pins) and returns its path.</summary>
    public static string Write(QemuServerLayout layout, QemuGuestAccess access)
    {
        var file = FileOf(layout);
        File.WriteAllText(file, Text(access));
        return file;
    }
}
