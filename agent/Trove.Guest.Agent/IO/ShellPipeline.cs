using System.Text;
using CliWrap;

namespace Trove.Guest.Agent.IO;

/// <summary>
/// Two programs joined by a kernel pipe (<c>bash -c 'set -o pipefail; a | b'</c>), for the bulk streams of backups
/// and restores: the data goes from one process to the other without being copied through the agent, which on a
/// 2-core guest leaves that CPU to the compressor. Every word is single-quoted, so paths and options pass unchanged
/// (no secret ever goes on a command line: the tools read credentials from files).
/// </summary>
public static class ShellPipeline
{
    public static Command Create(string first, IEnumerable<string> firstArgs, string second, IEnumerable<string> secondArgs, string? firstStderrFile = null)
    {
        var script = new StringBuilder("set -o pipefail; ");
        Append(script, first, firstArgs);
        if (firstStderrFile is not null) script.Append(" 2>").Append(Quote(firstStderrFile));
        script.Append(" | ");
        Append(script, second, secondArgs);
        return Cli.Wrap("/bin/bash").WithArguments(["-c", script.ToString()]);
    }

    private static void Append(StringBuilder script, string program, IEnumerable<string> args)
    {
        script.Append(Quote(program));
        foreach (var arg in args) script.Append(' ').Append(Quote(arg));
    }

    /// <summary>POSIX single quotes: everything literal; a quote inside becomes '\''.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
