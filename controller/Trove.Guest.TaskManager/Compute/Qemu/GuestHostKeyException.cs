namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// A guest's SSH server presented a host key that is not pinned for it (or nothing is pinned yet): the connection was
/// closed before authenticating, and nothing was sent to it. The message names the key's fingerprint
/// (<c>SHA256:...</c>, as <c>ssh-keygen -l</c> prints it) so that an operator can compare it with the guest's console.
/// </summary>
public sealed class GuestHostKeyException : Exception
{
    public GuestHostKeyException(int port, SshHostKey presented, IReadOnlyList<SshHostKey> pinned)
        : base(Describe(port, presented, pinned))
    {
        Presented = presented;
    }

    /// <summary>The key the server presented.</summary>
    public SshHostKey Presented { get; }

    private static string Describe(int port, SshHostKey presented, IReadOnlyList<SshHostKey> pinned) => pinned.Count == 0
        ? $"refused the SSH host key of the guest at {GuestShell.Host}:{port} ({presented}): no host key is pinned for this guest yet "
            + "(it has not printed its keys on its serial console), and a key is never trusted on first use"
        : $"refused the SSH host key of the guest at {GuestShell.Host}:{port} ({presented}): it is not one of the keys pinned from the "
            + $"guest's console ({string.Join(", ", pinned)}); the guest was replaced, or something else answers on this port";
}
