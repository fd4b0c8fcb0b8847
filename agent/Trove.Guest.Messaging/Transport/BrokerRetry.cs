using Microsoft.Extensions.Logging;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// Runs one broker operation (a publish, a queue declaration) until it gets through: a failure the caller calls
/// transient, a lost connection that RabbitMQ.Client's recovery is bringing back, is waited out with oslo's growing
/// pause (<see cref="RabbitDriverOptions.ReconnectDelay"/>, its growth capped after 30 attempts); any other failure,
/// and the caller's token, end it at once.
/// </summary>
internal static class BrokerRetry
{
    public static async Task UntilDoneAsync(Func<Task> operation, Func<Exception, bool> isTransient, string what,
        RabbitDriverOptions options, ILogger logger, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await operation().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (isTransient(e) && !ct.IsCancellationRequested)
            {
                var delay = options.ReconnectDelay(Math.Min(attempt, 30));
                logger.LogWarning("{Operation} failed ({Reason}); retrying in {Delay} s", what, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }
}
