using System.Runtime.InteropServices;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// Processes of the host by PID, through /proc: never by name, so nothing but our own agents and engines is touched.
/// A PID is only signalled after its command line shows it is the process we mean (PIDs are reused).
/// </summary>
internal static partial class HostProcesses
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>The process's argv, or null when it is gone or a zombie (which counts as gone: its parent will reap it).</summary>
    public static IReadOnlyList<string>? CommandLine(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ...": comm may hold anything, so the state is the first field after the last ')'.
            if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')) return null;
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="pid"/> runs and its argv contains <paramref name="argument"/> (an argument unique to it).</summary>
    public static bool Runs(int? pid, string argument) => pid is > 0 && CommandLine(pid.Value)?.Contains(argument) == true;

    /// <summary>
    /// The processes with an argument inside <paramref name="directory"/> (an engine's <c>--datadir=DIR/...</c>, a tool
    /// working on the volume), each with that argument, by which it is recognised again.
    /// </summary>
    public static IReadOnlyList<(int Pid, string Argument)> Using(string directory)
    {
        var found = new List<(int, string)>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId) continue;
            if (CommandLine(pid)?.FirstOrDefault(a => a.Contains(directory, StringComparison.Ordinal)) is { } argument) found.Add((pid, argument));
        }
        return found;
    }

    /// <summary>Sends <paramref name="signal"/> to a process (or, with a negative PID, to a whole process group).</summary>
    public static void Signal(int pid, int signal)
    {
        // ESRCH (already gone) is what we wanted anyway.
        _ = Kill(pid, signal);
    }

    /// <summary>Waits until <paramref name="pid"/> no longer runs <paramref name="argument"/>; false on timeout.</summary>
    public static async Task<bool> WaitGoneAsync(int pid, string argument, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Runs(pid, argument))
        {
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>
    /// SIGTERM, a wait of up to <paramref name="timeout"/>, then SIGKILL. With <paramref name="group"/> (a process that
    /// leads its own process group) the group's leftovers, such as a tool the agent was running, get SIGKILL at the end:
    /// the kernel does not hand out a PID that still names a process group, so the group is still the agent's.
    /// </summary>
    public static async Task StopAsync(int pid, string argument, TimeSpan timeout, bool group, CancellationToken ct)
    {
        if (!Runs(pid, argument)) return;
        Signal(pid, SigTerm);
        if (!await WaitGoneAsync(pid, argument, timeout, ct).ConfigureAwait(false))
        {
            Signal(pid, SigKill);
            if (!await WaitGoneAsync(pid, argument, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false))
                throw new ComputeDriverException($"process {pid} ({argument}) survived SIGKILL");
        }
        if (group) Signal(-pid, SigKill);
    }

    // LibraryImport would need unsafe code in this project; kill(2) takes and returns plain ints, which DllImport marshals as they are.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
