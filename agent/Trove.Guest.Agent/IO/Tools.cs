using CliWrap;
using CliWrap.Buffered;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.IO;

/// <summary>Running the engine's command-line tools: one way to run them and one way to quote what went wrong.</summary>
public static class Tools
{
    /// <summary>Runs a tool (secrets go on <paramref name="stdin"/>, never in args); a non-zero exit becomes a GuestError quoting its errors.</summary>
    public static async Task RunAsync(string tool, string[] args, string? stdin, CancellationToken ct)
    {
        var command = Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None);
        if (stdin is not null) command = command.WithStandardInputPipe(PipeSource.FromString(stdin));
        var result = await command.ExecuteBufferedAsync(ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new RpcFailureException("GuestError", "trove.common.exception",
                $"{Path.GetFileName(tool)} failed ({result.ExitCode}): {ErrorSummary(result.StandardError + "\n" + result.StandardOutput)}");
    }

    /// <summary>What to quote from a tool's output: its error lines first (the server's "[ERROR]", "ERROR:"), then its last lines.</summary>
    public static string ErrorSummary(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var errors = lines.Where(l => (l.Contains("[ERROR]", StringComparison.Ordinal) || l.Contains("ERROR:", StringComparison.Ordinal))
            && !l.Contains("Aborting", StringComparison.Ordinal)).Take(3);
        return string.Join(" | ", errors.Concat(lines.TakeLast(3)).Distinct());
    }

    /// <summary>Removes a directory tree if it exists; a failure to do so is not worth failing the operation for.</summary>
    public static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
