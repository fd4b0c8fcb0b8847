using System.CommandLine;
using Trove.Guest.Cli.Waiting;

namespace Trove.Guest.Cli.Commands;

/// <summary><c>--wait</c>, <c>--timeout</c> and <c>--poll-interval</c> of the commands that start long operations.</summary>
internal sealed class WaitOptions
{
    public Option<bool> Wait { get; } = new("--wait") { Description = "wait until the operation has finished, showing progress on stderr" };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "seconds --wait waits at most (exit 5 when they pass)", DefaultValueFactory = _ => 1800,
        Validators = { r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--timeout must be positive"); } },
    };

    public Option<double> PollInterval { get; } = new("--poll-interval")
    {
        Description = "seconds between two looks at the resource while waiting", DefaultValueFactory = _ => 5,
        Validators = { r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--poll-interval must be positive"); } },
    };

    public IEnumerable<Option> All => [Wait, Timeout, PollInterval];

    /// <summary>The waiter for this invocation; null without <c>--wait</c>.</summary>
    public StatusWaiter? Waiter(ParseResult parse, CliEnvironment io) => parse.GetValue(Wait)
        ? new StatusWaiter(io.Err, io.Interactive, TimeSpan.FromSeconds(parse.GetValue(PollInterval)), TimeSpan.FromSeconds(parse.GetValue(Timeout)))
        : null;
}
