using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>
/// Our guest images, built once per test run with <c>trove-guest-image</c> (the Debug build beside the tests) from our
/// elements (<c>trove-debian vm trove-guest-agent DATASTORE</c>) and the Native AOT agent that <c>.ci/setup</c>
/// publishes to <c>artifacts/agent/</c>, into a scratch folder deleted when the test process exits. The builder's own cache (<c>~/.cache/image-create</c>) makes a second run fast.
/// </summary>
public static class GuestImages
{
    private static readonly Dictionary<string, Lazy<Task<BuiltImage>>> Builds = [];

    public sealed record BuiltImage(string File, TimeSpan BuildTime, string Log);

    public static string AgentBinary => Path.Combine(RepoPaths.Root, "artifacts", "agent", "trove-guest-agent");

    public static Task<BuiltImage> GetAsync(string datastore)
    {
        lock (Builds)
        {
            if (!Builds.TryGetValue(datastore, out var build)) Builds[datastore] = build = new Lazy<Task<BuiltImage>>(() => BuildAsync(datastore));
            return build.Value;
        }
    }

    private static async Task<BuiltImage> BuildAsync(string datastore)
    {
        if (!File.Exists(AgentBinary))
            throw new InvalidOperationException($"{AgentBinary} is missing: publish the agent first (dotnet publish agent/Trove.Guest.Agent -c Release -r linux-x64 -p:PublishAot=true -o artifacts/agent; .ci/setup does)");
        var scratch = Directory.CreateTempSubdirectory("tg-image-").FullName;
        // About 180 MB a datastore: gone with the test process, not left in /tmp run after run.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(scratch);
        var output = Path.Combine(scratch, datastore);
        var builder = Path.Combine(RepoPaths.Root, "imagebuilder", "Trove.Guest.ImageBuilder", "bin", "Debug", "net10.0", "trove-guest-image.dll");
        var watch = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var result = await Cli.Wrap("dotnet").WithArguments([builder, "build", "-o", output, "-t", "qcow2", "trove-debian", "vm", "trove-guest-agent", datastore])
            .WithEnvironmentVariables(e => e
                .Set("DIB_TROVE_GUEST_AGENT", AgentBinary)
                .Set("DIB_TROVE_GUEST_TEMPLATES", Path.Combine(RepoPaths.Root, "templates"))
                .Set("DIB_RELEASE", Knob("DIB_RELEASE", "bookworm"))
                .Set("DIB_DISTRIBUTION_MIRROR", Knob("DIB_DISTRIBUTION_MIRROR", "http://deb.debian.org/debian"))
                .Set("DIB_DEBIAN_SECURITY_MIRROR", Knob("DIB_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security"))
                .Set("DIB_DEBIAN_SECURITY_SUBPATH", Knob("DIB_DEBIAN_SECURITY_SUBPATH", "-security")))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(limit.Token);
        var log = result.StandardOutput + result.StandardError;
        if (result.ExitCode != 0 || !File.Exists(output + ".qcow2"))
            throw new InvalidOperationException($"building the {datastore} image failed ({result.ExitCode}):\n{log[^Math.Min(log.Length, 6000)..]}");
        return new BuiltImage(output + ".qcow2", watch.Elapsed, log);
    }

    private static void DeleteQuietly(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Knob(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;
}
