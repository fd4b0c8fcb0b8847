using System.Diagnostics;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// The plain progress log: a line when each script starts and ends, with the build's elapsed time; the hooks' own
/// output goes to the build log file (and, with <c>-x</c>, to the console too).
/// </summary>
public sealed class ConsoleProgress(TextWriter console, TextWriter log, bool echoOutput) : IBuildProgress, IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();

    private string Stamp => $"[{_clock.Elapsed.TotalSeconds,7:0.0}s]";

    public void ScriptStarted(Phase phase, string script) => Write($"{Stamp} {phase}/{script}", toConsole: true);

    public void ScriptEnded(Phase phase, string script, TimeSpan elapsed, int exitCode) =>
        Write($"{Stamp} {phase}/{script} {(exitCode == 0 ? "done" : $"FAILED ({exitCode})")} in {elapsed.TotalSeconds:0.0}s", toConsole: true);

    public void Output(Phase phase, string? script, string line) => Write($"{Stamp} {phase}/{script ?? "-"}: {line}", toConsole: echoOutput);

    private void Write(string line, bool toConsole)
    {
        lock (_lock)
        {
            log.WriteLine(line);
            if (toConsole) console.WriteLine(line);
        }
    }

    public void Dispose() => log.Dispose();
}
