using System.Diagnostics;

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>
/// Descendants of this test process (the in-process agent runs its tools as our children and grandchildren), found
/// through their parent PIDs and signalled by PID: never by name, so nothing outside the test is touched.
/// </summary>
public static class ChildProcesses
{
    /// <summary>
    /// Waits until a child of ours runs <paramref name="command"/> (its /proc comm) with <paramref name="argument"/> in its
    /// command line (tests run in parallel: an agent's own directory tells its children apart), and returns its PID.
    /// </summary>
    public static async Task<int> WaitForAsync(string command, string argument, TimeSpan timeout)
    {
        var self = Environment.ProcessId;
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    var (comm, _) = await StatAsync(pid);
                    if (comm != command || !await DescendsFromAsync(pid, self)) continue;
                    var cmdline = (await File.ReadAllTextAsync(Path.Combine(dir, "cmdline"))).Replace('\0', ' ');
                    if (cmdline.Contains(argument, StringComparison.Ordinal)) return pid;
                }
                catch (IOException)
                {
                }
            }
            await Task.Delay(5);
        }
        throw new TimeoutException($"no child process '{command}' appeared in {timeout.TotalSeconds} s");
    }

    /// <summary>/proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.</summary>
    private static async Task<(string Comm, int ParentPid)> StatAsync(int pid)
    {
        var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
        var close = stat.LastIndexOf(')');
        return (stat[(stat.IndexOf('(') + 1)..close], int.Parse(stat[(close + 2)..].Split(' ')[1]));
    }

    private static async Task<bool> DescendsFromAsync(int pid, int ancestor)
    {
        for (var depth = 0; depth < 8 && pid > 1; depth++)
        {
            pid = (await StatAsync(pid)).ParentPid;
            if (pid == ancestor) return true;
        }
        return false;
    }

    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()])!;
        await kill.WaitForExitAsync();
    }
}
