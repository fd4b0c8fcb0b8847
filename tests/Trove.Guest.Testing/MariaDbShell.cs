using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>The <c>mariadb</c> client as an operator or a user runs it: root over a server's unix socket, or a user over TCP; rows tab-separated.</summary>
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

    /// <summary>Runs <paramref name="sql"/> as <paramref name="user"/> over TCP, as a database user connects; the password goes through the environment, never argv.</summary>
    public static async Task<string> RunOverTcpAsync(string host, int port, string user, string password, string sql)
    {
        var result = await Cli.Wrap("mariadb")
            .WithArguments(["--no-defaults", "--protocol=tcp", $"--host={host}", $"--port={port}", $"--user={user}", "--batch", "--skip-column-names", "--connect-timeout=30"])
            .WithEnvironmentVariables(e => e.Set("MYSQL_PWD", password))
            .WithStandardInputPipe(PipeSource.FromString(sql))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"SQL as {user} on {host}:{port} failed: {result.StandardError}");
        return result.StandardOutput.Trim();
    }
}
