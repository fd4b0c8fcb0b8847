using Trove.Guest.ImageBuilder.CommandLine;

namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// kick-start's image: <c>trove-guest-image build -o OUT -t qcow2 trove-debian vm trove-guest-agent DATASTORE</c>, run in
/// this process (redstack's build-image, without a second <c>dotnet run</c>). The elements read their knobs from the
/// process environment, so the ones kick-start defaults are set there for the build and put back after it.
/// </summary>
internal static class GuestImageBuild
{
    public const string AgentVariable = "DIB_TROVE_GUEST_AGENT";
    public const string TemplatesVariable = "DIB_TROVE_GUEST_TEMPLATES";
    public const string ReleaseVariable = "DIB_RELEASE";
    public const string DefaultRelease = "bookworm";

    /// <summary>Builds the image of <paramref name="datastore"/> into <c>OUTPUT.qcow2</c> and returns that file.</summary>
    /// <param name="variable">The caller's environment (the CLI's, which tests give their own).</param>
    /// <param name="log">Where the builder's own lines go (its step times, the files it wrote).</param>
    public static async Task<string> RunAsync(string datastore, string output, Func<string, string?> variable, SourceTree? tree, TextWriter log,
        TextWriter stderr)
    {
        // The builder chroots and writes disks the Linux way.
        if (!OperatingSystem.IsLinux()) throw new CliFailure(ExitCodes.ApiRefused, "ERROR: guest images are built on Linux only");
        var agent = Given(variable, AgentVariable) ?? tree?.AgentBinary
            ?? throw new CliFailure(ExitCodes.ApiRefused,
                $"ERROR: {AgentVariable} is not set, and this trove-guest runs outside its repository: name the guest agent binary the image takes in {AgentVariable}");
        if (!File.Exists(agent))
            throw new CliFailure(ExitCodes.ApiRefused,
                $"ERROR: the guest agent binary {agent} does not exist. Publish it first, from the repository root: {SourceTree.AgentPublishCommand} "
                + $"(./redstack.ps1 install does), or name another one in {AgentVariable}");
        var knobs = new Dictionary<string, string?>
        {
            [AgentVariable] = Path.GetFullPath(agent),
            [TemplatesVariable] = Given(variable, TemplatesVariable) ?? tree?.Templates,
            [ReleaseVariable] = Given(variable, ReleaseVariable) ?? DefaultRelease,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        int code;
        using (ProcessEnvironment.Set(knobs))
        {
            code = await ImageCli.RunAsync(["build", "-o", output, "-t", "qcow2", "trove-debian", "vm", "trove-guest-agent", datastore], log, stderr)
                .ConfigureAwait(false);
        }
        var image = output + ".qcow2";
        if (code != ImageCli.Ok)
            throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: trove-guest-image build exited with {code} (its log: {output}.log)");
        if (!File.Exists(image)) throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: trove-guest-image build succeeded but wrote no {image}");
        return image;
    }

    private static string? Given(Func<string, string?> variable, string name) => variable(name) is { Length: > 0 } value ? value : null;

    /// <summary>Process environment variables set for a while, and put back as they were (unset ones unset again).</summary>
    private sealed class ProcessEnvironment : IDisposable
    {
        private readonly Dictionary<string, string?> _before = [];

        private ProcessEnvironment(IReadOnlyDictionary<string, string?> values)
        {
            foreach (var (name, value) in values)
            {
                if (value is null) continue;
                _before[name] = Environment.GetEnvironmentVariable(name);
                Environment.SetEnvironmentVariable(name, value);
            }
        }

        public static ProcessEnvironment Set(IReadOnlyDictionary<string, string?> values) => new(values);

        public void Dispose()
        {
            foreach (var (name, value) in _before) Environment.SetEnvironmentVariable(name, value);
        }
    }
}
