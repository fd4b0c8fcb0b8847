using System.CommandLine;
using Trove.Guest.Cli.Commands;

namespace Trove.Guest.Cli;

/// <summary>
/// The <c>trove-guest</c> command tree: troveclient's verbs against Trove's REST API (exit codes in <see cref="ExitCodes"/>),
/// and <c>rpc call|cast</c> to a guest agent, whose exit codes are these: 0 ok, 1 remote failure, 2 timeout,
/// 3 transport error, 64 usage.
/// </summary>
public static class CliApp
{
    public const int Ok = 0;
    public const int RemoteFailure = 1;
    public const int Timeout = 2;
    public const int TransportError = 3;
    public const int Usage = 64;

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, Environment.GetEnvironmentVariable);

    /// <param name="environment">Where the API commands read <c>OS_*</c> and the other variables they fall back to.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        var root = new RootCommand("trove-guest: operate Trove.Guest database instances and their guest agents");
        root.Subcommands.Add(RpcCommand.Create(stdout, stderr));

        // Progress may redraw a spinner only on the real console's stderr, and only when that is a terminal.
        var interactive = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
        var globals = new ApiGlobalOptions();
        globals.AddTo(root);
        var build = new ApiCommandBuilder(globals, new CliEnvironment(stdout, stderr, environment, interactive));
        foreach (var command in InstanceCommands.Create(build)
            .Concat(BackupCommands.Create(build))
            .Concat(DatabaseCommands.Create(build))
            .Concat(ConfigurationCommands.Create(build))
            .Concat(CatalogCommands.Create(build))
            .Concat(GuestCommands.Create(build))
            .Append(KickStartCommand.Create(build)))
            root.Subcommands.Add(command);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) await stderr.WriteLineAsync($"trove-guest: {error.Message}").ConfigureAwait(false);
            return Usage;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }).ConfigureAwait(false);
    }
}
