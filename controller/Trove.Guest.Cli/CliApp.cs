using System.CommandLine;
using Trove.Guest.Cli.Commands;

namespace Trove.Guest.Cli;

/// <summary>The <c>trove-guest</c> command tree. Exit codes: 0 ok, 1 remote failure, 2 timeout, 3 transport error, 64 usage.</summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int RemoteFailure = 1;
    public const int Timeout = 2;
    public const int TransportError = 3;
    public const int Usage = 64;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("trove-guest: operate Trove.Guest database instances and their guest agents");
        root.Subcommands.Add(RpcCommand.Create(stdout, stderr));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) await stderr.WriteLineAsync($"trove-guest: {error.Message}").ConfigureAwait(false);
            return Usage;
        }
        return await parsed.InvokeAsync().ConfigureAwait(false);
    }
}
