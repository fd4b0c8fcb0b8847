using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Engines;

/// <summary>
/// Runs <c>mariadbd</c> as a child process. The agent stays its parent, so it reaps it at once (no zombie delay) and
/// notices a crash the moment it happens. Socket, port, datadir and pid file come from the options, so several
/// instances can run side by side on one machine.
/// </summary>
public sealed partial class ChildProcessEngine(AgentOptions options, ILogger<ChildProcessEngine> logger) : IDatabaseEngine
{
    private readonly Lock _lock = new();
    private Process? _process;
    private bool _stopRequested = true;

    public string DataDir => Path.Combine(options.Datastore.MountPoint, "data");
    public string ErrorLog => Path.Combine(options.Guest.StateDir, "mysqld.err");

    // Process.HasExited is never read while _lock is held: it raises Exited under the Process's own lock, and the Exited
    // handler (OnExited) takes _lock. Reading it inside _lock deadlocked a heartbeat against a server exiting just then.
    private Process? Current
    {
        get { lock (_lock) return _process; }
    }

    /// <summary>The server's PID while it runs.</summary>
    public int? ProcessId => Current is { HasExited: false } p ? p.Id : null;

    public Task<EngineState> GetStateAsync(CancellationToken ct)
    {
        Process? process;
        bool stopRequested;
        lock (_lock)
        {
            process = _process;
            stopRequested = _stopRequested;
        }
        if (process is { HasExited: false }) return Task.FromResult(EngineState.Running);
        return Task.FromResult(stopRequested ? EngineState.Stopped : EngineState.Crashed);
    }

    public Task StartAsync(CancellationToken ct)
    {
        var current = Current;
        if (current is { HasExited: false }) return Task.CompletedTask;
        lock (_lock)
        {
            // Another start got here first.
            if (!ReferenceEquals(_process, current)) return Task.CompletedTask;
            var myCnf = Path.Combine(options.Guest.EngineConfigDir, "my.cnf");
            // setsid(1) puts the server in a session of its own (and execs it, keeping the PID): a signal meant for the
            // agent's process group, such as a Ctrl-C or a supervisor's SIGTERM, does not reach the database; the agent
            // stops it in order instead.
            var psi = new ProcessStartInfo(File.Exists(SetSid) ? SetSid : options.Guest.EngineBinary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (psi.FileName == SetSid) psi.ArgumentList.Add(options.Guest.EngineBinary);
            // --defaults-file must be the first argument; the flags after it override the file.
            psi.ArgumentList.Add(File.Exists(myCnf) ? $"--defaults-file={myCnf}" : "--no-defaults");
            psi.ArgumentList.Add($"--datadir={DataDir}");
            psi.ArgumentList.Add($"--socket={options.Guest.EngineSocket}");
            psi.ArgumentList.Add($"--port={options.Guest.EnginePort}");
            psi.ArgumentList.Add($"--bind-address={options.Guest.EngineBindAddress}");
            psi.ArgumentList.Add($"--pid-file={Path.Combine(options.Guest.StateDir, "mysqld.pid")}");
            psi.ArgumentList.Add($"--log-error={ErrorLog}");
            psi.ArgumentList.Add($"--user={options.Guest.EngineUser}");
            var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) logger.LogDebug("mariadbd: {Line}", e.Data); };
            process.Exited += (_, _) => OnExited(process);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            _stopRequested = false;
            logger.LogInformation("Started {Binary} (pid {Pid})", options.Guest.EngineBinary, process.Id);
        }
        return Task.CompletedTask;
    }

    private void OnExited(Process process)
    {
        bool requested;
        lock (_lock) requested = _stopRequested || !ReferenceEquals(process, _process);
        if (!requested)
            logger.LogError("The database server (pid {Pid}) exited with code {Code} without being asked to; see {Log}",
                process.Id, process.ExitCode, ErrorLog);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        Process? process;
        lock (_lock)
        {
            _stopRequested = true;
            process = _process;
        }
        if (process is null || process.HasExited) return;
        _ = Kill(process.Id, SigTerm);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(options.StateChangeWaitTime);
        try
        {
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("The database server did not stop within {Seconds} s; killing it", options.StateChangeWaitTime.TotalSeconds);
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        logger.LogInformation("Database server stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _process?.Dispose();
    }

    private const int SigTerm = 15;
    private const string SetSid = "/usr/bin/setsid";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
