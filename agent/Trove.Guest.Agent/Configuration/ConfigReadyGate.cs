using Microsoft.Extensions.Logging;

namespace Trove.Guest.Agent.Configuration;

/// <summary>
/// Waits until the file that says "the configuration is in place" exists (<c>--config-ready-file</c>). In the image,
/// trove-guest-firstboot writes it once it has copied the config drive's files (whether that worked or not, as systemd's
/// <c>After=</c> would have let the agent start either way). The agent's unit is therefore not ordered after that
/// step: the process starts beside it, and its runtime, logging and host are up by the time the files are there. On an
/// emulated CPU that start-up is about a second of the boot's critical path.
/// </summary>
public static class ConfigReadyGate
{
    // A stat every 50 ms costs nothing next to what the boot does meanwhile, and needs no watcher thread.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    /// <summary>Returns at once when <paramref name="path"/> is null or exists; otherwise logs once and polls.</summary>
    public static async Task WaitAsync(string? path, ILogger logger, CancellationToken ct)
    {
        if (path is null || File.Exists(path)) return;
        logger.LogInformation("Waiting for {ReadyFile} before reading the configuration", path);
        while (!File.Exists(path)) await Task.Delay(Poll, ct).ConfigureAwait(false);
    }
}
