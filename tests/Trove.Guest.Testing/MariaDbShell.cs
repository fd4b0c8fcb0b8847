using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>The <c>mariadb</c> client as an operator runs it: root over a server's unix socket, rows tab-separated.</summary>
public static class MariaDbShell
{
    /// <summary>Runs <paramref name="sql"/> (from stdin) and returns the rows; throws with the client's stderr when it fails.</summary>
    public static async Task<string> RunAsync(string socket, string sql, bool columnNames = false)
    {
        var result = await Cli.Wrap("mariadb")
            .WithArguments(["--no-defaults", "--protocol=socket", $"--socket={socket}", "--user=root", "--batch", .. (columnNames ? Array.Empty<string>() : ["--skip-column-names"])])
            .WithStandardInputPipe(PipeSource.FromString(sql))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"SQL over {socket} failed: {result.StandardError}");
        return result.StandardOutput.Trim();
    }
}
