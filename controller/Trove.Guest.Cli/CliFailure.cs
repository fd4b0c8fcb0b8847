namespace Trove.Guest.Cli;

/// <summary>A command ends here: the message for stderr and the exit code (one of <see cref="ExitCodes"/>).</summary>
internal sealed class CliFailure(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
