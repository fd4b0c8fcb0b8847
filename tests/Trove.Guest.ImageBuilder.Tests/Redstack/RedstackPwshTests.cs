using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;

namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>
/// redstack.ps1 through the real pwsh, as a developer or CI runs it (<c>pwsh -NoProfile -File</c>): the process's
/// exit code is the script's, and arguments that look like PowerShell parameters ("-o", "-c", "--flavor") reach the
/// tool unchanged. Where no pwsh is installed, each case is asserted through the hosted runspace and then reported
/// as skipped, saying so.
/// </summary>
[Collection(nameof(RedstackCollection))]
public sealed class RedstackPwshTests : IDisposable
{
    /// <summary>pwsh on PATH, or where .ci/setup installs it (a .NET global tool; ~/.dotnet/tools is not always on PATH).</summary>
    private static readonly string? Pwsh = FindPwsh();

    private readonly RecordingFake _dotnet = new();
    private readonly string _caller = Directory.CreateTempSubdirectory("redstack-pwsh-").FullName;

    public void Dispose()
    {
        _dotnet.Dispose();
        Directory.Delete(_caller, recursive: true);
    }

    [Fact]
    public async Task An_unknown_datastore_exits_64_from_pwsh_before_anything_runs()
    {
        var (code, stderr) = await RunAsync("build-image", "oracle");

        code.Should().Be(64);
        stderr.Should().Contain("redstack: build-image needs a DATASTORE, one of mariadb, mysql, postgresql, redis (got 'oracle')");
        _dotnet.Calls().Should().BeEmpty();
        SkipWithoutPwsh();
    }

    [Fact]
    public async Task Arguments_that_look_like_parameters_reach_the_tool_from_pwsh()
    {
        var (code, _) = await RunAsync("kick-start", "mariadb", "--flavor", "2", "-o", "x", "-c", "y", "-d", "-Verbose");

        code.Should().Be(0);
        var call = _dotnet.Calls().Should().ContainSingle().Subject;
        call.Arguments.Should().Equal("run", "--project", "controller/Trove.Guest.Cli", "-c", "Release", "--", "kick-start",
            "mariadb", "--flavor", "2", "-o", "x", "-c", "y", "-d", "-Verbose");
        SkipWithoutPwsh();
    }

    private async Task<(int Code, string Stderr)> RunAsync(params string[] arguments)
    {
        if (Pwsh is null)
        {
            var run = HostedRedstack.Run(RedstackScript.Path, _caller, new Dictionary<string, string?> { ["REDSTACK_DOTNET"] = _dotnet.Executable }, arguments);
            return (run.ExitCode, run.Error);
        }
        var result = await Cli.Wrap(Pwsh)
            .WithArguments(["-NoProfile", "-NonInteractive", "-File", RedstackScript.Path, .. arguments])
            .WithWorkingDirectory(_caller)
            .WithEnvironmentVariables(e => e.Set("REDSTACK_DOTNET", _dotnet.Executable))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(TestContext.Current.CancellationToken);
        return (result.ExitCode, result.StandardError);
    }

    private static void SkipWithoutPwsh()
    {
        if (Pwsh is null) Assert.Skip("pwsh is neither on PATH nor in ~/.dotnet/tools (bash .ci/setup installs it): asserted through the hosted runspace only");
    }

    private static string? FindPwsh()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"));
        return directories.Select(d => Path.Combine(d, "pwsh")).FirstOrDefault(File.Exists);
    }
}
