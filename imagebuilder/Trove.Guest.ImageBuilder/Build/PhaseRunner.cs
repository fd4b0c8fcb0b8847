using System.Diagnostics;
using System.Text;
using CliWrap;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>What the runner reports while a phase runs (the live display and the log listen to it).</summary>
public interface IBuildProgress
{
    void ScriptStarted(Phase phase, string script);

    void ScriptEnded(Phase phase, string script, TimeSpan elapsed, int exitCode);

    void Output(Phase phase, string? script, string line);

    /// <summary>The hooks are merged: which element each <c>phase.d/script</c> came from.</summary>
    void HooksAssembled(IReadOnlyDictionary<string, string> owners)
    {
    }

    /// <summary>A build step (a phase, the disk, an output, a cache restore) starts.</summary>
    void StepStarted(string step)
    {
    }

    void StepEnded(string step, TimeSpan elapsed)
    {
    }
}

/// <summary>One script's run: the timing table at the end of a build is made of these.</summary>
public sealed record ScriptRun(Phase Phase, string Script, TimeSpan Elapsed);

/// <summary>A phase stopped at a script; the message names the phase, the script, its exit code and its last lines.</summary>
public sealed class PhaseFailedException(Phase phase, string script, int exitCode, IReadOnlyList<string> lastLines)
    : Exception($"{phase}: {script} failed with exit code {exitCode}{(lastLines.Count > 0 ? ":\n  " + string.Join("\n  ", lastLines) : "")}")
{
    public Phase Phase { get; } = phase;
    public string Script { get; } = script;
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Runs one phase's hooks as dib-run-parts does: one bash process that sources the <c>environment.d</c> files under
/// <c>set -eu -o pipefail</c>, then runs each script in order and stops at the first failure. The process marks
/// each script's start and end on its output, which gives per-script times without changing what scripts see.
/// </summary>
public sealed class PhaseRunner(IReadOnlyDictionary<string, string> environment, IBuildProgress? progress = null)
{
    private const char Marker = '\u001e';

    private const string Driver = """
        set -ue
        set -o pipefail
        envs=(); scripts=(); into=envs
        for a in "$@"; do
          if [ "$a" = "--" ]; then into=scripts; continue; fi
          if [ "$into" = envs ]; then envs+=("$a"); else scripts+=("$a"); fi
        done
        for f in "${envs[@]}"; do source "$f"; done
        for s in "${scripts[@]}"; do
          printf '\036start %s\n' "$s"
          rc=0; "$s" || rc=$?
          printf '\036end %s %d\n' "$s" "$rc"
          if [ "$rc" -ne 0 ]; then exit "$rc"; fi
        done
        """;

    /// <summary>Runs <paramref name="phase"/>'s scripts from the hook tree at <paramref name="hooks"/>, outside the chroot.</summary>
    public async Task<IReadOnlyList<ScriptRun>> RunAsync(Phase phase, string hooks, CancellationToken ct)
    {
        var scripts = RunParts.Scripts(Path.Combine(hooks, phase.Directory));
        if (scripts.Count == 0) return [];
        var envFiles = RunParts.EnvironmentFiles(Path.Combine(hooks, "environment.d"));
        return await RunAsync(phase, "/bin/bash", ["-c", Driver, "dib-run-parts", .. envFiles, "--", .. scripts], ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="phase"/>'s scripts inside the root at <paramref name="root"/>, which must have its
    /// <see cref="ChrootMounts"/> (the hook tree at <c>/tmp/in_target.d</c>). As DIB: the whole build environment goes in,
    /// <c>TMPDIR</c> does not, and the image's own sbin and bin directories are on the PATH.
    /// </summary>
    public async Task<IReadOnlyList<ScriptRun>> RunInChrootAsync(Phase phase, string root, string hooks, CancellationToken ct)
    {
        var scripts = RunParts.Scripts(Path.Combine(hooks, phase.Directory));
        if (scripts.Count == 0) return [];
        string Inside(string hostPath) => ChrootMounts.HooksInTarget + "/" + Path.GetRelativePath(hooks, hostPath);
        var envFiles = RunParts.EnvironmentFiles(Path.Combine(hooks, "environment.d")).Select(Inside);
        var path = (environment.GetValueOrDefault("PATH") ?? "/usr/bin:/bin") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        return await RunAsync(phase, "chroot",
            [root, "/usr/bin/env", "-u", "TMPDIR", "-u", "VIRTUAL_ENV", $"PATH={path}", "HOME=/root", "/bin/bash", "-c", Driver, "dib-run-parts",
                .. envFiles, "--", .. scripts.Select(Inside)], ct).ConfigureAwait(false);
    }

    internal async Task<IReadOnlyList<ScriptRun>> RunAsync(Phase phase, string program, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var runs = new List<ScriptRun>();
        var tail = new Queue<string>();
        string? current = null;
        var watch = new Stopwatch();
        var failed = (Script: (string?)null, Code: 0);

        void OnLine(string line)
        {
            // A script whose output does not end with a newline leaves the runner's marker in the middle of a line.
            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at > 0)
            {
                OnLine(line[..at]);
                line = line[at..];
            }
            if (line.Length > 0 && line[0] == Marker)
            {
                var parts = line[1..].Split(' ');
                if (parts[0] == "start")
                {
                    // The tail is not cleared here: stderr arrives on its own pipe, and a failing script's last words
                    // may be read before this marker from stdout is.
                    current = parts[1];
                    watch.Restart();
                    progress?.ScriptStarted(phase, Path.GetFileName(current));
                }
                else if (parts[0] == "end" && current is not null)
                {
                    var code = int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture);
                    runs.Add(new ScriptRun(phase, Path.GetFileName(current), watch.Elapsed));
                    progress?.ScriptEnded(phase, Path.GetFileName(current), watch.Elapsed, code);
                    if (code != 0) failed = (Path.GetFileName(current), code);
                    current = null;
                }
                return;
            }
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 20) tail.Dequeue();
            }
            progress?.Output(phase, current is null ? null : Path.GetFileName(current), line);
        }

        var stderr = new StringBuilder();
        var result = await Cli.Wrap(program).WithArguments(arguments)
            .WithEnvironmentVariables(e => e.Set(environment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value)))
            .WithStandardOutputPipe(PipeTarget.ToDelegate(OnLine))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(l => { lock (tail) { tail.Enqueue(l); if (tail.Count > 20) tail.Dequeue(); } progress?.Output(phase, current, l); }))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync(ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            List<string> last;
            lock (tail) last = tail.TakeLast(8).ToList();
            throw new PhaseFailedException(phase, failed.Script ?? current ?? "environment.d", result.ExitCode, last);
        }
        return runs;
    }
}
