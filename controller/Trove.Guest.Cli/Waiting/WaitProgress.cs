using System.Globalization;

namespace Trove.Guest.Cli.Waiting;

/// <summary>
/// A <c>--wait</c>'s progress on stderr: a line per status change; on a terminal also a spinner with the time waited,
/// redrawn in place (plain lines only when stderr is a file or a pipe, so that logs stay readable).
/// </summary>
internal sealed class WaitProgress(TextWriter stderr, bool interactive, string subject)
{
    private static readonly string[] Frames = ["|", "/", "-", "\\"];
    private int _frame;
    private int _spinnerWidth;

    public async Task StatusAsync(string status, TimeSpan elapsed)
    {
        await ClearSpinnerAsync().ConfigureAwait(false);
        await stderr.WriteLineAsync($"{subject}: {status} ({Seconds(elapsed)})").ConfigureAwait(false);
        await stderr.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>On a terminal, the spinner moves on; elsewhere nothing.</summary>
    public async Task TickAsync(string status, TimeSpan elapsed)
    {
        if (!interactive) return;
        var line = $"{Frames[_frame++ % Frames.Length]} {subject}: {status}, waited {Seconds(elapsed)}";
        await stderr.WriteAsync("\r" + line.PadRight(_spinnerWidth)).ConfigureAwait(false);
        await stderr.FlushAsync().ConfigureAwait(false);
        _spinnerWidth = line.Length;
    }

    public async Task EndAsync(string message)
    {
        await ClearSpinnerAsync().ConfigureAwait(false);
        await stderr.WriteLineAsync($"{subject}: {message}").ConfigureAwait(false);
        await stderr.FlushAsync().ConfigureAwait(false);
    }

    private async Task ClearSpinnerAsync()
    {
        if (_spinnerWidth == 0) return;
        await stderr.WriteAsync("\r" + new string(' ', _spinnerWidth) + "\r").ConfigureAwait(false);
        _spinnerWidth = 0;
    }

    public static string Seconds(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(elapsed.TotalSeconds):0} s");
}
