using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;

namespace Trove.Guest.Agent.Hosting;

/// <summary>
/// The agent as a hosted service (systemd <c>Type=notify</c>): READY=1 goes out once the guest API consumes from its
/// topic, STOPPING=1 when shutdown begins, WATCHDOG=1 every half <c>WATCHDOG_USEC</c> when systemd asks for it. It also
/// sends the periodic heartbeats to the conductor.
/// </summary>
public sealed class AgentService(AgentOptions options, ILoggerFactory loggers, ISystemdNotifier notifier, ILogger<AgentService> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly AgentRuntime _runtime = new(options, loggers);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loops = Task.CompletedTask;
    private long _handledAtTrim;
    private bool _trimmedOnce;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _runtime.StartAsync(cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Guest agent {GuestId} ({Manager}) serving {Topic}", options.GuestId, options.DatastoreManager, options.Topic);
        notifier.Notify(ServiceState.Ready);
        // Not before prepare: on a new instance it is on its way (often already running), and it needs the very code
        // that start-up faulted in; paging that out now made a guest under emulation read it back, about 0.5 s.
        if (_runtime.Status.IsPrepared) TrimIfIdle();
        _loops = Task.WhenAll(HeartbeatLoopAsync(_stopping.Token), WatchdogLoopAsync(_stopping.Token));
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.ReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    await _runtime.ReportStatusAsync(ct).ConfigureAwait(false);
                    TrimIfIdle();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Status check failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Gives back the code pages that start-up, or the requests handled since the last trim (prepare, a backup...),
    /// faulted in: once READY on a prepared instance, and after a heartbeat that follows new requests when none is running.
    /// </summary>
    private void TrimIfIdle()
    {
        if (!options.Guest.TrimStartupMemory) return;
        var handled = _runtime.HandledRequests;
        if (handled == _handledAtTrim && _trimmedOnce) return;
        if (_runtime.HasRequestsInFlight) return;
        // After work (not at start-up, where it costs more than it frees), return the garbage it left to the OS first.
        if (_trimmedOnce) GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _handledAtTrim = handled;
        _trimmedOnce = true;
        var trimmed = StartupMemoryTrimmer.TrimExecutableMappings(logger);
        logger.LogDebug("Paged out {Bytes} bytes of the agent's code", trimmed);
    }

    private async Task WatchdogLoopAsync(CancellationToken ct)
    {
        if (!options.Guest.Watchdog || !notifier.IsEnabled) return;
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMicroseconds(usec / 2.0));
        try
        {
            do notifier.Notify(new ServiceState("WATCHDOG=1"));
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        notifier.Notify(ServiceState.Stopping);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loops.ConfigureAwait(false);
        await _runtime.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _runtime.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
