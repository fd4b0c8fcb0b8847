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

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _runtime.StartAsync(cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Guest agent {GuestId} ({Manager}) serving {Topic}", options.GuestId, options.DatastoreManager, options.Topic);
        notifier.Notify(ServiceState.Ready);
        if (options.Guest.TrimStartupMemory)
        {
            var trimmed = StartupMemoryTrimmer.TrimExecutableMappings(logger);
            logger.LogDebug("Paged out {Bytes} bytes of start-up code", trimmed);
        }
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
