namespace Trove.Guest.Cli.Commands;

/// <summary>Where a command writes and what it reads from its environment (tests give their own; Program gives the console's).</summary>
/// <param name="Interactive">stderr is a terminal: progress may redraw a spinner in place.</param>
internal sealed record CliEnvironment(TextWriter Out, TextWriter Err, Func<string, string?> Variable, bool Interactive);
