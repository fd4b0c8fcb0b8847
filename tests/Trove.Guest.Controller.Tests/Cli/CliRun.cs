using Trove.Guest.Cli;

namespace Trove.Guest.Controller.Tests.Cli;

/// <summary>One in-process run of <c>trove-guest</c> with an environment of the test's own (not the test process's).</summary>
public sealed record CliRun(int Code, string Out, string Err)
{
    public static async Task<CliRun> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, name => environment.GetValueOrDefault(name));
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}
