namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>One call of a <see cref="RecordingFake"/>: where it ran, the agent variable it saw (null: unset), its argv.</summary>
public sealed record FakeCall(string WorkingDirectory, string? TroveGuestAgent, IReadOnlyList<string> Arguments);

/// <summary>
/// A stand-in for dotnet or bash (REDSTACK_DOTNET, REDSTACK_BASH): a shell script that appends its working directory,
/// DIB_TROVE_GUEST_AGENT and argv to a log, then exits with the code it was made with.
/// </summary>
public sealed class RecordingFake : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("redstack-fake-").FullName;

    public RecordingFake(int exitCode = 0)
    {
        Executable = Path.Combine(_directory, "fake-tool");
        LogPath = Path.Combine(_directory, "calls.log");
        // One "name<TAB>value" line per fact; "call" starts each invocation. pwd -P: $PWD may be inherited stale.
        File.WriteAllText(Executable, $$"""
            #!/bin/sh
            {
              echo call
              printf 'cwd\t%s\n' "$(pwd -P)"
              if [ "${DIB_TROVE_GUEST_AGENT+set}" = set ]; then printf 'agent\t%s\n' "$DIB_TROVE_GUEST_AGENT"; fi
              for a in "$@"; do printf 'arg\t%s\n' "$a"; done
            } >> '{{LogPath}}'
            exit {{exitCode}}

            """);
        File.SetUnixFileMode(Executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Executable { get; }

    public string LogPath { get; }

    /// <summary>Every call so far, in order; none when the fake never ran.</summary>
    public IReadOnlyList<FakeCall> Calls()
    {
        if (!File.Exists(LogPath)) return [];
        var calls = new List<FakeCall>();
        string? cwd = null, agent = null;
        List<string>? args = null;
        foreach (var line in File.ReadAllLines(LogPath))
        {
            if (line == "call")
            {
                if (args is not null) calls.Add(new FakeCall(cwd!, agent, args));
                (cwd, agent, args) = (null, null, []);
                continue;
            }
            var tab = line.IndexOf('\t');
            var (name, value) = (line[..tab], line[(tab + 1)..]);
            switch (name)
            {
                case "cwd": cwd = value; break;
                case "agent": agent = value; break;
                case "arg": args!.Add(value); break;
                default: throw new InvalidDataException($"unexpected line in {LogPath}: {line}");
            }
        }
        if (args is not null) calls.Add(new FakeCall(cwd!, agent, args));
        return calls;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
