using System.ComponentModel;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>
/// Trove's own <c>trove-manage</c>, run to write the datastore and its version into Trove's database. It prints most
/// of its errors (an unknown datastore, an unknown default version) and still exits 0, so a call counts as done only
/// when its output says so and holds no error text.
/// </summary>
public sealed partial class TroveManage(IReadOnlyList<string> command, TextWriter log)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The managers Trove's guest agent registry knows (trove/guestagent/dbaas.py); others need datastore_registry_ext.</summary>
    public static readonly IReadOnlySet<string> KnownManagers = new HashSet<string>(StringComparer.Ordinal)
    {
        "mysql", "mariadb", "postgresql", "percona", "pxc", "redis", "cassandra", "couchbase", "mongodb", "couchdb", "vertica", "db2",
    };

    /// <summary>
    /// The version (pinned to <paramref name="imageId"/>, with the tags as Trove's fallback lookup), then the datastore's
    /// default version. The version goes first: <c>datastore_update NAME ''</c> clears an existing datastore's default,
    /// so the datastore is created only when trove-manage says it does not exist yet.
    /// </summary>
    public async Task RegisterAsync(string datastore, string version, string manager, string imageId, CancellationToken ct)
    {
        string[] versionUpdate =
        [
            "datastore_version_update", datastore, version, manager, imageId, "", "1", "--image-tags", $"trove,{datastore}", "--version", version,
        ];
        var result = await RunAsync(versionUpdate, ct).ConfigureAwait(false);
        if (result.Failure is not null && result.Output.Contains($"Datastore '{datastore}' cannot be found.", StringComparison.Ordinal))
        {
            Check(await RunAsync(["datastore_update", datastore, ""], ct).ConfigureAwait(false));
            result = await RunAsync(versionUpdate, ct).ConfigureAwait(false);
        }
        Check(result);
        Check(await RunAsync(["datastore_update", datastore, version], ct).ConfigureAwait(false));
    }

    private sealed record Result(IReadOnlyList<string> Arguments, int ExitCode, string Output, string? Failure);

    private async Task<Result> RunAsync(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var shown = Show(arguments);
        await log.WriteLineAsync($"trove-manage {shown}").ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(CallTimeout);
        BufferedCommandResult run;
        try
        {
            run = await Cli.Wrap(command[0]).WithArguments(command.Skip(1).Concat(arguments)).WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Win32Exception e)
        {
            throw new RegistrationException(
                $"cannot run '{command[0]}' (not found or not executable); give trove-manage's command with --trove-manage, or skip Trove's tables with --no-trove-manage", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistrationException($"trove-manage {shown} did not finish within {CallTimeout.TotalMinutes:0} minutes (is Trove's database reachable?)", e);
        }
        var output = string.Join("\n", new[] { run.StandardOutput, run.StandardError }.Select(o => o.Trim()).Where(o => o.Length > 0));
        foreach (var line in Lines(run.StandardOutput)) await log.WriteLineAsync($"  {line}").ConfigureAwait(false);
        return new Result(arguments, run.ExitCode, output, Failure(run.ExitCode, output));
    }

    /// <summary>Why a call failed, in trove-manage's words, or null when it reported success.</summary>
    internal static string? Failure(int exitCode, string output)
    {
        var lines = Lines(output).Select(l => LogPrefix().Replace(AnsiEscape().Replace(l, ""), "").Trim()).Where(l => l.Length > 0).ToList();
        var errors = lines.Where(l => ErrorText().IsMatch(l)).ToList();
        if (exitCode == 0 && errors.Count == 0 && lines.Any(l => l.EndsWith("updated.", StringComparison.Ordinal))) return null;
        // A traceback is long and its frames say little: oslo.log sums the exception up in one CRITICAL line, and a
        // bare Python traceback ends with it.
        var summary = lines.Where(l => l.StartsWith("Command failed", StringComparison.Ordinal) || l.StartsWith("CRITICAL ", StringComparison.Ordinal)).ToList();
        if (!summary.Any(l => l.StartsWith("CRITICAL ", StringComparison.Ordinal)) && lines.Any(l => l.StartsWith("Traceback", StringComparison.Ordinal)))
            summary.Add(lines[^1]);
        var shown = summary.Count > 0 ? summary : errors.Count > 0 ? errors.Take(5).ToList() : lines.TakeLast(5).ToList();
        var text = shown.Count > 0 ? string.Join(" ", shown) : "no output";
        return exitCode == 0 ? text : $"{text} (exit code {exitCode})";
    }

    private static void Check(Result result)
    {
        if (result.Failure is null) return;
        var hint = result.Failure.Contains("check log", StringComparison.OrdinalIgnoreCase) && !result.Failure.Contains("CRITICAL", StringComparison.Ordinal)
            ? " (the cause is in trove-manage's own log: log_file or log_dir in its trove.conf)"
            : "";
        throw new RegistrationException($"trove-manage {Show(result.Arguments)} failed: {result.Failure}{hint}");
    }

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The arguments as a shell would need them, so a failing call can be rerun by hand.</summary>
    private static string Show(IEnumerable<string> arguments) =>
        string.Join(" ", arguments.Select(a => a.Length == 0 ? "''" : a.Any(c => char.IsWhiteSpace(c) || "'\"$\\;&|<>()*?`".Contains(c)) ? $"'{a.Replace("'", "'\\''")}'" : a));

    /// <summary>oslo.log's "2026-11-27 17:54:52.863 27275 " before the level.</summary>
    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \d+ ")]
    private static partial Regex LogPrefix();

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"\b(ERROR|CRITICAL)\b|Traceback|cannot be found|not found|[Ff]ailed|[Ee]rror:|is not active|Multiple datastore versions|wrong number of arguments")]
    private static partial Regex ErrorText();
}
