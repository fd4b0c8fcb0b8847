using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// The live display on a terminal: finished steps with their times, the running step, and the running script with its
/// phase, element, elapsed time and last line of output. Everything also goes to the build log, as with
/// <see cref="ConsoleProgress"/>, which this wraps.
/// </summary>
public sealed class LiveProgress(ConsoleProgress log) : IBuildProgress
{
    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Step, TimeSpan Elapsed)> _done = [];
    private readonly Stopwatch _stepClock = new();
    private readonly Stopwatch _scriptClock = new();
    private string? _step;
    private string? _script;
    private string _lastLine = "";

    /// <summary>Runs <paramref name="work"/> while the display redraws a few times a second.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        var result = default(T)!;
        await AnsiConsole.Live(Render()).AutoClear(false).StartAsync(async ctx =>
        {
            var task = work();
            while (!task.IsCompleted)
            {
                ctx.UpdateTarget(Render());
                await Task.WhenAny(task, Task.Delay(250)).ConfigureAwait(false);
            }
            ctx.UpdateTarget(Render());
            result = await task.ConfigureAwait(false);
        }).ConfigureAwait(false);
        return result;
    }

    private IRenderable Render()
    {
        lock (_lock)
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("step").AddColumn(new TableColumn("time").RightAligned());
            foreach (var (step, elapsed) in _done.TakeLast(12)) table.AddRow(Markup.Escape(step), $"{elapsed.TotalSeconds:0.0}s");
            if (_step is not null) table.AddRow($"[yellow]{Markup.Escape(_step)}[/]", $"[yellow]{_stepClock.Elapsed.TotalSeconds:0.0}s[/]");
            var rows = new List<IRenderable> { table };
            if (_script is not null)
                rows.Add(new Markup($"[bold]{Markup.Escape(_script)}[/] {_scriptClock.Elapsed.TotalSeconds:0.0}s"));
            if (_lastLine.Length > 0)
                rows.Add(new Markup($"[grey]{Markup.Escape(_lastLine.Length > 160 ? _lastLine[..160] + "…" : _lastLine)}[/]"));
            rows.Add(new Markup($"[grey]elapsed {_clock.Elapsed.TotalSeconds:0}s[/]"));
            return new Rows(rows);
        }
    }

    public void HooksAssembled(IReadOnlyDictionary<string, string> owners) => log.HooksAssembled(owners);

    public void StepStarted(string step)
    {
        log.StepStarted(step);
        lock (_lock)
        {
            _step = step;
            _stepClock.Restart();
        }
    }

    public void StepEnded(string step, TimeSpan elapsed)
    {
        log.StepEnded(step, elapsed);
        lock (_lock)
        {
            _done.Add((step, elapsed));
            _step = null;
        }
    }

    public void ScriptStarted(Phase phase, string script)
    {
        log.ScriptStarted(phase, script);
        lock (_lock)
        {
            _script = $"{phase}/{script}{log.OwnerOf(phase, script)}";
            _scriptClock.Restart();
            _lastLine = "";
        }
    }

    public void ScriptEnded(Phase phase, string script, TimeSpan elapsed, int exitCode)
    {
        log.ScriptEnded(phase, script, elapsed, exitCode);
        lock (_lock) _script = null;
    }

    public void Output(Phase phase, string? script, string line)
    {
        log.Output(phase, script, line);
        lock (_lock) _lastLine = line;
    }
}
