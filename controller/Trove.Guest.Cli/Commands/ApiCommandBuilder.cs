using System.CommandLine;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// Makes the Trove API commands: each logs in with the global options, runs its body with an <see cref="ApiSession"/>, and
/// turns a <see cref="CliFailure"/> into its message on stderr and its exit code (<see cref="ExitCodes"/>).
/// </summary>
internal sealed class ApiCommandBuilder(ApiGlobalOptions globals, CliEnvironment io)
{
    /// <summary>Requests that take longer than this count as an unreachable API (exit 3); --wait polls are requests too.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);

    public CliEnvironment Io => io;

    public Command Create(string name, string description, IEnumerable<Symbol> symbols, Func<ParseResult, ApiSession, CancellationToken, Task<int>> body) =>
        CreateLocal(name, description, symbols, async (parse, ct) =>
        {
            using var api = await LoginAsync(parse, ct).ConfigureAwait(false);
            return await body(parse, new ApiSession(api, new ResourcePrinter(io.Out, Json(parse)), io), ct).ConfigureAwait(false);
        });

    /// <summary>
    /// A command that logs in only if its body asks (<see cref="LoginAsync"/>), with the same handling of
    /// <see cref="CliFailure"/>s: <c>ssh</c> and <c>log-fetch</c>, which may be given an instance id without the API.
    /// </summary>
    public Command CreateLocal(string name, string description, IEnumerable<Symbol> symbols, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            if (symbol is Argument argument) command.Arguments.Add(argument);
            else if (symbol is Option option) command.Options.Add(option);
        }
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                return await body(parse, ct).ConfigureAwait(false);
            }
            catch (CliFailure failure)
            {
                await io.Err.WriteLineAsync(failure.ExitCode == ExitCodes.Usage ? $"trove-guest: {failure.Message}" : failure.Message).ConfigureAwait(false);
                return failure.ExitCode;
            }
        });
        return command;
    }

    /// <summary>The global options, for commands that log in their own way (<c>kick-start</c>).</summary>
    public ApiGlobalOptions Globals => globals;

    /// <summary><c>--json</c>, or troveclient's <c>OS_JSON_OUTPUT</c>.</summary>
    public bool Json(ParseResult parse) => parse.GetValue(globals.Json) || IsTrue(io.Variable("OS_JSON_OUTPUT"));

    /// <summary>Logs in with the global options (and their <c>OS_*</c> fallbacks); the caller disposes the client.</summary>
    public Task<TroveApiClient> LoginAsync(ParseResult parse, CancellationToken ct)
    {
        var credentials = TroveCredentials.Resolve(parse.GetValue(globals.AuthUrl), parse.GetValue(globals.UserName), parse.GetValue(globals.Password),
            parse.GetValue(globals.Project), parse.GetValue(globals.BypassUrl), io.Variable);
        return TroveApiClient.LoginAsync(credentials, RequestTimeout, ct);
    }

    private static bool IsTrue(string? value) => value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}
