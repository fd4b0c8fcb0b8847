namespace Trove.Guest.State;

/// <summary>
/// Tells readers in this process that a writer in this process stored a guest's report (a heartbeat, a backup update, a
/// notification), so a flow waiting for one reads again at once instead of at its next poll. Only a hint: a reader takes
/// <see cref="Next"/> before it reads, then waits for it or its poll interval, whichever comes first, so a report stored
/// by another process (the conductor elsewhere) is still seen at the poll.
/// </summary>
public sealed class StateChanges
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>Completes at the next <see cref="Pulse"/>.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public void Pulse() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    /// <summary>Waits for <paramref name="next"/> (taken before the read that found nothing) or <paramref name="poll"/>, whichever comes first.</summary>
    public static async Task WaitAsync(Task next, TimeSpan poll, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(poll);
        try
        {
            await next.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
