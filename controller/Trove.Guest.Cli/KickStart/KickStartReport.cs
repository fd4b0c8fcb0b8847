using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// kick-start's steps and their times. Each step's line (<c>  build image          183.2 s</c>) is printed as it ends, on
/// stdout, or on stderr with <c>--json</c>, whose stdout holds only the final object (the steps with their seconds, and
/// what was made). A step that fails stops the run with its name and time in the message.
/// </summary>
internal sealed class KickStartReport(TextWriter stdout, TextWriter stderr, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private readonly JsonArray _steps = [];

    public bool Json => json;

    /// <summary>Where lines for people go: stdout, or stderr when stdout is kept for the JSON.</summary>
    public TextWriter Lines => json ? stderr : stdout;

    /// <summary>What the JSON object carries besides the steps (ids, the controller).</summary>
    public JsonObject Facts { get; } = [];

    /// <summary>Runs one step; its line gets <paramref name="note"/>'s text for the result (an id, "already running").</summary>
    public async Task<T> StepAsync<T>(string name, Func<Task<T>> body, Func<T, string?>? note = null)
    {
        var clock = Stopwatch.StartNew();
        T result;
        try
        {
            result = await body().ConfigureAwait(false);
        }
        catch (CliFailure failure)
        {
            throw new CliFailure(failure.ExitCode,
                $"{failure.Message}\nkick-start stopped at '{name}' after {Seconds(clock.Elapsed)} (total {Seconds(_total.Elapsed)})");
        }
        var text = note?.Invoke(result);
        _steps.Add(new JsonObject { ["name"] = name, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3) });
        await WriteLineAsync(Line(name, Seconds(clock.Elapsed)) + (text is null ? "" : "  " + text)).ConfigureAwait(false);
        return result;
    }

    /// <summary>A step this run has no need of (no image on the process driver, or one given with --image).</summary>
    public async Task SkipAsync(string name, string reason)
    {
        _steps.Add(new JsonObject { ["name"] = name, ["skipped"] = reason });
        await WriteLineAsync(Line(name, "skipped") + "  " + reason).ConfigureAwait(false);
    }

    /// <summary>The total line; with --json, the object on stdout.</summary>
    public async Task FinishAsync()
    {
        var total = _total.Elapsed;
        await WriteLineAsync(Line("total", Seconds(total))).ConfigureAwait(false);
        if (!json) return;
        var result = (JsonObject)Facts.DeepClone();
        result["steps"] = _steps.DeepClone();
        result["total_seconds"] = Math.Round(total.TotalSeconds, 3);
        await stdout.WriteLineAsync(result.ToJsonString(Indented)).ConfigureAwait(false);
        await stdout.FlushAsync().ConfigureAwait(false);
    }

    public async Task WriteLineAsync(string line)
    {
        await Lines.WriteLineAsync(line).ConfigureAwait(false);
        await Lines.FlushAsync().ConfigureAwait(false);
    }

    private static string Line(string name, string time) => string.Create(CultureInfo.InvariantCulture, $"  {name,-18} {time,9}");

    public static string Seconds(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.0} s");
}
