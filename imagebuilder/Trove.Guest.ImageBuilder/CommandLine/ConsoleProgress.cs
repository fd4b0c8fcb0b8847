using System.Diagnostics;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// The plain progress log, for output that is not a terminal: a line when each step and each script starts and ends,
/// with the build's elapsed time and the script's element; the hooks' own output goes to the build log file (and,
/// with <c>-x</c>, to the console too).
/// </summary>
public sealed class ConsoleProgress(TextWriter console, TextWriter log, bool echoOutput) : IBuildProgress, IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private IReadOnlyDictionary<string, string> _owners = new Dictionary<string, string>();

    private string Stamp => $"[{_clock.Elapsed.TotalSeconds,7:0.0}s]";

    /// <summary>The element a script came from, as <c>" (element)"</c>.</summary>
    public string OwnerOf(Phase phase, string script) => _owners.TryGetValue($"{phase.Directory}/{script}", out var owner) ? $" ({owner})" : "";

    public void HooksAssembled(IReadOnlyDictionary<string, string> owners) => _owners = owners;

    public void StepStarted(string step) => Write($"{Stamp} step {step}", toConsole: true);

    public void StepEnded(string step, TimeSpan elapsed) => Write($"{Stamp} step {step} done in {elapsed.TotalSeconds:0.0}s", toConsole: true);

    public void ScriptStarted(Phase phase, string script) => Write($"{Stamp} {phase}/{script}{OwnerOf(phase, script)}", toConsole: true);

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
