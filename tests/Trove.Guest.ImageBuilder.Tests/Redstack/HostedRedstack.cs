using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>What a run of redstack.ps1 gave: its exit code, its output lines, what it wrote to stderr, its error records, and where the runspace was afterwards.</summary>
public sealed record RedstackRun(int ExitCode, IReadOnlyList<string> Output, string Error, IReadOnlyList<string> ErrorRecords, string LocationAfter);

/// <summary>
/// Runs a redstack.ps1 in a PowerShell runspace hosted in this process (Microsoft.PowerShell.SDK), as a script file
/// with plain string arguments, from a chosen location.
/// </summary>
/// <remarks>
/// The runspace shares this process: its $env: is the process environment and [Console]::Error is Console.Error. The
/// run sets the variables it is given and swaps stderr for a writer, and puts both back afterwards; tests that use
/// it belong to <see cref="RedstackCollection"/>, which runs alone.
/// </remarks>
public static class HostedRedstack
{
    public static RedstackRun Run(string script, string location, IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var saved = environment.Keys.ToDictionary(name => name, Environment.GetEnvironmentVariable);
        var stderr = new StringWriter();
        var originalError = Console.Error;
        try
        {
            foreach (var (name, value) in environment) Environment.SetEnvironmentVariable(name, value);
            Console.SetError(stderr);
            using var powershell = PowerShell.Create(InitialSessionState.CreateDefault2());
            powershell.Runspace.SessionStateProxy.Path.SetLocation(location);
            powershell.AddCommand(script);
            foreach (var argument in arguments) powershell.AddArgument(argument);
            var output = powershell.Invoke();
            // A script file's `exit N` ends the script, not the host: the engine stores N in the global $LASTEXITCODE.
            var exitCode = powershell.Runspace.SessionStateProxy.GetVariable("LASTEXITCODE")
                ?? throw new InvalidOperationException($"{script} {string.Join(' ', arguments)} ended without exit: $LASTEXITCODE is not set");
            return new RedstackRun(
                (int)exitCode,
                output.Select(o => o?.ToString() ?? "").ToList(),
                stderr.ToString(),
                powershell.Streams.Error.Select(e => e.ToString()).ToList(),
                powershell.Runspace.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath);
        }
        finally
        {
            Console.SetError(originalError);
            foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
        }
    }
}

/// <summary>The redstack.ps1 runs change the process environment and stderr: they run alone.</summary>
[CollectionDefinition(nameof(RedstackCollection), DisableParallelization = true)]
public sealed class RedstackCollection;
