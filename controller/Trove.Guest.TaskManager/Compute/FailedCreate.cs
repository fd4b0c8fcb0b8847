using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>What every driver does when a create fails part-way: delete what was made, then report the failure.</summary>
internal static class FailedCreate
{
    /// <summary>
    /// Deletes <paramref name="server"/> (nothing half-made stays behind), then rethrows <paramref name="failure"/> when it
    /// already says what went wrong, or wraps it in a <see cref="ComputeDriverException"/> naming the instance.
    /// </summary>
    public static async Task<Exception> CleanUpAsync(IComputeDriver driver, ServerInfo server, Exception failure, ILogger logger)
    {
        try
        {
            await driver.DeleteAsync(server, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception cleanup)
        {
            logger.LogError(cleanup, "Server {Instance}: cleaning up after a failed create failed too", server.InstanceId);
        }
        if (failure is ComputeDriverException or OperationCanceledException or ArgumentException) ExceptionDispatchInfo.Capture(failure).Throw();
        return new ComputeDriverException($"creating the server of {server.InstanceId} failed: {failure.Message}", failure);
    }
}
