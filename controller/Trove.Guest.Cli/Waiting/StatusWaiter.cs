using System.Diagnostics;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Output;

namespace Trove.Guest.Cli.Waiting;

/// <summary>
/// <c>--wait</c>: polls a resource (<c>show</c>) every <c>--poll-interval</c> until its <see cref="WaitGoal"/> is met, it
/// fails (exit 2, with the fault Trove recorded), or <c>--timeout</c> passes (exit 5). Progress goes to stderr.
/// </summary>
internal sealed class StatusWaiter(TextWriter stderr, bool interactive, TimeSpan pollInterval, TimeSpan timeout)
{
    // The spinner's pace on a terminal, independent of how often the API is asked.
    private static readonly TimeSpan SpinnerStep = TimeSpan.FromMilliseconds(125);

    /// <param name="poll">Shows the resource; null when the API answers 404.</param>
    public async Task<WaitResult> WaitAsync(WaitGoal goal, string subject, Func<CancellationToken, Task<JsonObject?>> poll, CancellationToken ct)
    {
        var progress = new WaitProgress(stderr, interactive, subject);
        var clock = Stopwatch.StartNew();
        string? last = null;
        while (true)
        {
            var resource = await poll(ct).ConfigureAwait(false);
            if (resource is null)
            {
                if (goal.UntilGone)
                {
                    await progress.EndAsync($"gone, {goal.Purpose} finished after {WaitProgress.Seconds(clock.Elapsed)}").ConfigureAwait(false);
                    return new WaitResult(ExitCodes.Ok, null);
                }
                await progress.EndAsync($"disappeared while waiting for {goal.Purpose} to finish").ConfigureAwait(false);
                return new WaitResult(ExitCodes.WaitFailed, null);
            }
            var status = ResourcePrinter.Cell(resource["status"]);
            if (status != last) await progress.StatusAsync(status, clock.Elapsed).ConfigureAwait(false);
            last = status;
            if (goal.Done.Contains(status))
            {
                await progress.EndAsync($"{goal.Purpose} finished after {WaitProgress.Seconds(clock.Elapsed)}").ConfigureAwait(false);
                return new WaitResult(ExitCodes.Ok, resource);
            }
            if (goal.Failed.Contains(status))
            {
                var fault = resource["fault"] is JsonObject f ? $": {ResourcePrinter.Cell(f["message"])}" : "";
                await progress.EndAsync($"{goal.Purpose} failed, status {status}{fault}").ConfigureAwait(false);
                return new WaitResult(ExitCodes.WaitFailed, resource);
            }
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                await progress.EndAsync($"still {status} after {WaitProgress.Seconds(clock.Elapsed)}; stopped waiting (--timeout {timeout.TotalSeconds:0.###})")
                    .ConfigureAwait(false);
                return new WaitResult(ExitCodes.WaitTimedOut, resource);
            }
            var pause = pollInterval < left ? pollInterval : left;
            if (!interactive)
            {
                await Task.Delay(pause, ct).ConfigureAwait(false);
                continue;
            }
            for (var slept = TimeSpan.Zero; slept < pause; slept += SpinnerStep)
            {
                await progress.TickAsync(status, clock.Elapsed).ConfigureAwait(false);
                await Task.Delay(pause - slept < SpinnerStep ? pause - slept : SpinnerStep, ct).ConfigureAwait(false);
            }
        }
    }
}
