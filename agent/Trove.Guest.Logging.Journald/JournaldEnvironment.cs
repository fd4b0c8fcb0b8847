namespace Trove.Guest.Logging.Journald;

/// <summary>How a process started by systemd can tell that the journal is there to receive its logs.</summary>
public static class JournaldEnvironment
{
    /// <summary>The socket journald listens on for the native protocol.</summary>
    public const string DefaultSocketPath = "/run/systemd/journal/socket";

    /// <summary>
    /// True when systemd started this process: it sets <c>INVOCATION_ID</c> for every unit it runs, and
    /// <c>JOURNAL_STREAM</c> when stdout/stderr are connected to the journal.
    /// </summary>
    public static bool RunningUnderSystemd() => RunningUnderSystemd(Environment.GetEnvironmentVariable);

    /// <summary>
    /// True when running under systemd and the journald native socket exists, so a
    /// <see cref="JournaldSink"/> pointed at <paramref name="socketPath"/> can deliver.
    /// </summary>
    public static bool IsJournalAvailable(string socketPath = DefaultSocketPath) =>
        IsJournalAvailable(Environment.GetEnvironmentVariable, socketPath);

    // Overloads taking the environment lookup, so tests need not change the process environment.
    internal static bool RunningUnderSystemd(Func<string, string?> getEnvironmentVariable) =>
        !string.IsNullOrEmpty(getEnvironmentVariable("JOURNAL_STREAM")) ||
        !string.IsNullOrEmpty(getEnvironmentVariable("INVOCATION_ID"));

    internal static bool IsJournalAvailable(Func<string, string?> getEnvironmentVariable, string socketPath) =>
        RunningUnderSystemd(getEnvironmentVariable) && File.Exists(socketPath);
}
