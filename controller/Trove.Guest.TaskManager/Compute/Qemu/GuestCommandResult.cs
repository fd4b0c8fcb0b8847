namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// How a command run over SSH in a guest ended: its exit code (255 when it ended without one, killed by a signal, as
/// OpenSSH's client reports it) and what it wrote.
/// </summary>
public sealed record GuestCommandResult(int ExitCode, string StandardOutput, string StandardError);
