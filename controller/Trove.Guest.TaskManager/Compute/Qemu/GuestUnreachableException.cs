namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// A guest's SSH server did not answer before the caller's deadline (connection refused or reset while the guest boots,
/// or no SSH banner in time); <see cref="Exception.InnerException"/> is the last attempt's failure.
/// </summary>
public sealed class GuestUnreachableException(int port, int attempts, Exception? last)
    : Exception($"the guest's SSH server at {GuestShell.Host}:{port} did not answer after {attempts} attempt(s)"
        + (last is null ? "" : $": {last.Message}"), last)
{
    public int Attempts { get; } = attempts;
}
