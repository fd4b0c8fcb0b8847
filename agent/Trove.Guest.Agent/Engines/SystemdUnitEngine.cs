using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Engines;

/// <summary>
/// Drives the engine's systemd unit (<c>[trove_guest] engine_unit</c>). Stopping also disables the unit, and starting
/// enables it, so a database stopped on request stays stopped across a VM reboot, as Trove's resize flow expects.
/// Enabling and disabling use <c>--no-reload</c>: the symlinks are what the next boot reads, and the unit is started or
/// stopped explicitly here, so systemd need not reload its whole configuration (every generator again), which took
/// about 20 s each time in a guest under emulation. <c>SYSTEMCTL_SKIP_SYSV</c> keeps systemctl from also syncing a SysV
/// script of the same name (Debian's mariadb-server ships <c>/etc/init.d/mariadb</c>; <c>update-rc.d</c>, in Perl, took
/// about 15 s per call there): systemd itself ignores that script beside the native unit.
/// </summary>
public sealed class SystemdUnitEngine(AgentOptions options, ILogger<SystemdUnitEngine> logger) : IDatabaseEngine
{
    private string Unit => options.Guest.EngineUnit;

    public async Task<EngineState> GetStateAsync(CancellationToken ct)
    {
        var result = await Cli.Wrap("systemctl").WithArguments(["is-active", Unit])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct).ConfigureAwait(false);
        return result.StandardOutput.Trim() switch
        {
            "active" or "activating" or "reloading" => EngineState.Running,
            "failed" => EngineState.Crashed,
            _ => EngineState.Stopped,
        };
    }

    /// <summary>
    /// Starts the unit, then enables it. Not <c>enable --now</c>, which links the unit before it queues the start: the
    /// start comes first (prepare goes on as soon as the server answers, see <c>MysqlManager.StartEngineAsync</c>), and
    /// the link, about 0.13 s of an emulated guest's vCPU, follows once the start job is done. A start that fails leaves
    /// the unit as it was.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await SystemctlAsync(ct, "start", Unit).ConfigureAwait(false);
        await SystemctlAsync(ct, "enable", "--no-reload", Unit).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken ct)
    {
        // A new guest's engine was never enabled nor started (the image disables it): then there is nothing for
        // systemctl to do, and not starting it leaves the guest's one vCPU to the volume's format beside this.
        if (!IsEnabled(Unit, UnitConfigRoot) && !HasProcesses(Unit, ProcRoot))
        {
            logger.LogDebug("{Unit} is neither enabled nor running: nothing to stop", Unit);
            return Task.CompletedTask;
        }
        return SystemctlAsync(ct, "disable", "--no-reload", "--now", Unit);
    }

    private const string UnitConfigRoot = "/etc/systemd/system";
    private const string ProcRoot = "/proc";

    /// <summary>
    /// Whether <c>systemctl enable</c> has linked the unit into a target (<c>WantedBy=</c>/<c>RequiredBy=</c> links in
    /// the administrator's unit folder, where enable puts them and disable removes them).
    /// </summary>
    internal static bool IsEnabled(string unit, string unitConfigRoot) =>
        Directory.Exists(unitConfigRoot) && Directory.EnumerateDirectories(unitConfigRoot)
            .Where(d => d.EndsWith(".wants", StringComparison.Ordinal) || d.EndsWith(".requires", StringComparison.Ordinal))
            .Any(d => Path.Exists(Path.Combine(d, unit)) || new FileInfo(Path.Combine(d, unit)).LinkTarget is not null);

    /// <summary>
    /// Whether any process runs in the unit's control group: a process's <c>/proc/PID/cgroup</c> names it on every
    /// hierarchy (cgroup v2's <c>0::/system.slice/UNIT</c>, or v1's <c>name=systemd</c> line), whatever the unit's slice.
    /// </summary>
    internal static bool HasProcesses(string unit, string procRoot)
    {
        var suffix = "/" + unit;
        var parent = suffix + "/";
        foreach (var dir in Directory.EnumerateDirectories(procRoot))
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (name.IsEmpty || name.ContainsAnyExceptInRange('0', '9')) continue;
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "cgroup"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the process has gone
            }
            foreach (var line in text.AsSpan().EnumerateLines())
                if (line.TrimEnd().EndsWith(suffix, StringComparison.Ordinal) || line.Contains(parent, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private async Task SystemctlAsync(CancellationToken ct, params string[] args)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(options.StateChangeWaitTime);
        var result = await Cli.Wrap("systemctl").WithArguments(args).WithEnvironmentVariables(e => e.Set("SYSTEMCTL_SKIP_SYSV", "1"))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(limit.Token).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"systemctl {string.Join(' ', args)} failed ({result.ExitCode}): {result.StandardError.Trim()}");
        logger.LogInformation("systemctl {Arguments}", string.Join(' ', args));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
