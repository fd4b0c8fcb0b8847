using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Conductor;

/// <summary>
/// The guest's status as the control plane sees it (guest-contract §3.3): heartbeats go out only once prepare has
/// completed, except the forced ones that bracket prepare (<c>building</c>, then the real status or
/// <c>failed to spawn</c>). The prepare markers live in the state directory, as Trove's do.
/// </summary>
public sealed class StatusReporter(AgentOptions options, ConductorClient conductor, ILogger<StatusReporter> logger)
{
    private string StartMarker => Path.Combine(options.Guest.StateDir, ".guestagent.prepare.start");
    private string EndMarker => Path.Combine(options.Guest.StateDir, ".guestagent.prepare.end");

    public bool IsPrepared => File.Exists(EndMarker);

    /// <summary>The last status sent.</summary>
    public string? LastStatus { get; private set; }

    /// <summary>report_root: the instance has root enabled (after a restore of a source that had it).</summary>
    public Task ReportRootAsync(CancellationToken ct) => conductor.ReportRootAsync(ct);

    public async Task BeginPrepareAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(options.Guest.StateDir);
        File.Delete(EndMarker);
        await File.WriteAllTextAsync(StartMarker, "", ct).ConfigureAwait(false);
        await ReportAsync(ServiceStatus.Building, force: true, ct).ConfigureAwait(false);
    }

    public async Task EndPrepareAsync(string finalStatus, CancellationToken ct)
    {
        if (finalStatus != ServiceStatus.FailedToSpawn) await File.WriteAllTextAsync(EndMarker, "", ct).ConfigureAwait(false);
        await ReportAsync(finalStatus, force: true, ct).ConfigureAwait(false);
    }

    /// <summary>Sends a heartbeat; never throws (a lost heartbeat is retried by the next one).</summary>
    public async Task ReportAsync(string status, bool force, CancellationToken ct)
    {
        if (!force && !IsPrepared) return;
        try
        {
            await conductor.HeartbeatAsync(status, ct).ConfigureAwait(false);
            if (LastStatus != status) logger.LogInformation("Status {Status}", status);
            LastStatus = status;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Heartbeat ({Status}) not sent: {Error}", status, e.Message);
        }
    }
}
