using FluentAssertions;
using Trove.Guest.Testing;

namespace Trove.Guest.ImageBuilder.Tests.Redstack;

/// <summary>
/// redstack.ps1 run in a hosted runspace, with recording fakes for dotnet and bash: the exact argv each command
/// gives its tool, where it runs, DIB_TROVE_GUEST_AGENT, exit codes (the tool's, and 64 for usage errors before
/// anything runs), the usage text, and clean on a copy of the script in a scratch tree.
/// </summary>
[Collection(nameof(RedstackCollection))]
public sealed class RedstackRunTests : IDisposable
{
    private static readonly string Agent = Path.Combine(RepoPaths.Root, "artifacts", "agent", "trove-guest-agent");

    private readonly RecordingFake _dotnet = new();
    private readonly RecordingFake _bash = new();

    /// <summary>The caller's location: not the repository, so that running from the repository root is the script's doing.</summary>
    private readonly string _caller = Directory.CreateTempSubdirectory("redstack-caller-").FullName;

    public void Dispose()
    {
        _dotnet.Dispose();
        _bash.Dispose();
        Directory.Delete(_caller, recursive: true);
    }

    private RedstackRun Run(params string[] arguments) => Run(_dotnet, agent: null, arguments);

    /// <param name="dotnet">the fake that stands for dotnet.</param>
    /// <param name="agent">DIB_TROVE_GUEST_AGENT as the caller has it (null: unset).</param>
    /// <param name="arguments">the script's arguments.</param>
    private RedstackRun Run(RecordingFake dotnet, string? agent, params string[] arguments)
    {
        var run = HostedRedstack.Run(RedstackScript.Path, _caller, new Dictionary<string, string?>
        {
            ["REDSTACK_DOTNET"] = dotnet.Executable,
            ["REDSTACK_BASH"] = _bash.Executable,
            ["DIB_TROVE_GUEST_AGENT"] = agent,
        }, arguments);
        run.ErrorRecords.Should().BeEmpty();
        run.LocationAfter.Should().Be(_caller, "the caller gets its location back");
        return run;
    }

    private static string[] ImageBuild(string output, string datastore, params string[] extra) =>
        ["run", "--project", "imagebuilder/Trove.Guest.ImageBuilder", "-c", "Release", "--", "build", "-o", output, "-t", "qcow2", .. extra,
            "trove-debian", "vm", "trove-guest-agent", datastore];

    [Theory]
    [InlineData("mariadb")]
    [InlineData("mysql")]
    [InlineData("postgresql")]
    [InlineData("redis")]
    public void Build_image_runs_trove_guest_image_in_the_repository_with_the_agent_of_artifacts(string datastore)
    {
        var run = Run("build-image", datastore);

        run.ExitCode.Should().Be(0);
        var call = _dotnet.Calls().Should().ContainSingle().Subject;
        call.Arguments.Should().Equal(ImageBuild($"artifacts/images/{datastore}", datastore));
        call.WorkingDirectory.Should().Be(RepoPaths.Root);
        call.TroveGuestAgent.Should().Be(Agent);
        _bash.Calls().Should().BeEmpty();
    }

    [Fact]
    public void Build_image_takes_its_output_from_o_and_passes_the_other_arguments_to_the_build()
    {
        var run = Run("build-image", "mysql", "--no-cache", "-o", "/srv/images/mysql-8", "-x");

        run.ExitCode.Should().Be(0);
        _dotnet.Calls().Should().ContainSingle().Which.Arguments.Should().Equal(ImageBuild("/srv/images/mysql-8", "mysql", "--no-cache", "-x"));
    }

    [Fact]
    public void Build_image_keeps_an_agent_the_caller_chose()
    {
        Run(_dotnet, "/opt/agents/trove-guest-agent", "build-image", "redis").ExitCode.Should().Be(0);

        _dotnet.Calls().Should().ContainSingle().Which.TroveGuestAgent.Should().Be("/opt/agents/trove-guest-agent");
    }

    [Fact]
    public void Kick_start_forwards_its_arguments_to_trove_guest_kick_start()
    {
        var run = Run("kick-start", "postgresql", "--flavor", "2");

        run.ExitCode.Should().Be(0);
        var call = _dotnet.Calls().Should().ContainSingle().Subject;
        call.Arguments.Should().Equal("run", "--project", "controller/Trove.Guest.Cli", "-c", "Release", "--", "kick-start", "postgresql", "--flavor", "2");
        call.WorkingDirectory.Should().Be(RepoPaths.Root);
        call.TroveGuestAgent.Should().Be(Agent, "kick-start builds the image with the same element");
    }

    [Theory]
    [InlineData("build-image", "oracle", "'oracle'")]
    [InlineData("build-image", "MariaDB", "'MariaDB'")]
    [InlineData("kick-start", "oracle", "'oracle'")]
    [InlineData("kick-start", null, "nothing")]
    [InlineData("build-image", null, "nothing")]
    public void An_unknown_datastore_is_a_usage_error_before_anything_runs(string command, string? datastore, string named)
    {
        var run = datastore is null ? Run(command) : Run(command, datastore, "--flavor", "2");

        run.ExitCode.Should().Be(64);
        run.Error.Should().Be($"redstack: {command} needs a DATASTORE, one of mariadb, mysql, postgresql, redis (got {named}){Environment.NewLine}");
        run.Output.Should().BeEmpty();
        _dotnet.Calls().Should().BeEmpty();
        _bash.Calls().Should().BeEmpty();
    }

    [Fact]
    public void O_without_an_output_is_a_usage_error()
    {
        var run = Run("build-image", "mariadb", "-o");

        run.ExitCode.Should().Be(64);
        run.Error.Should().Contain("-o needs an OUTPUT");
        _dotnet.Calls().Should().BeEmpty();
    }

    [Theory]
    [InlineData(3, "test")]
    [InlineData(1, "build-image", "mariadb")]
    [InlineData(70, "kick-start", "redis")]
    public void The_tools_exit_code_is_the_scripts(int code, params string[] arguments)
    {
        using var failing = new RecordingFake(code);

        var run = Run(failing, agent: null, arguments);

        run.ExitCode.Should().Be(code);
        failing.Calls().Should().ContainSingle();
    }

    [Fact]
    public void Test_runs_the_readmes_test_command()
    {
        Run("test").ExitCode.Should().Be(0);

        var call = _dotnet.Calls().Should().ContainSingle().Subject;
        call.Arguments.Should().Equal("test", "Trove.Guest.sln");
        call.WorkingDirectory.Should().Be(RepoPaths.Root);
        call.TroveGuestAgent.Should().BeNull("only the image commands set it");
    }

    [Theory]
    [InlineData(new[] { "install" }, new[] { ".ci/setup" })]
    [InlineData(new[] { "bench" }, new[] { "bench/run.sh" })]
    [InlineData(new[] { "bench", "5" }, new[] { "bench/run.sh", "5" })]
    [InlineData(new[] { "bench", "agent" }, new[] { "bench/agent.sh" })]
    [InlineData(new[] { "bench", "image", "/tmp/w" }, new[] { "bench/imagebuilder.sh", "/tmp/w" })]
    public void Install_and_bench_run_their_bash_scripts(string[] arguments, string[] expected)
    {
        Run(arguments).ExitCode.Should().Be(0);

        _bash.Calls().Should().ContainSingle().Which.Arguments.Should().Equal(expected);
        _dotnet.Calls().Should().BeEmpty();
    }

    [Fact]
    public void Rpc_forwards_to_trove_guest_rpc()
    {
        Run("rpc", "call", "--topic", "guestagent.x", "--method", "rpc_ping").ExitCode.Should().Be(0);

        _dotnet.Calls().Should().ContainSingle().Which.Arguments.Should()
            .Equal("run", "--project", "controller/Trove.Guest.Cli", "-c", "Release", "--", "rpc", "call", "--topic", "guestagent.x", "--method", "rpc_ping");
    }

    [Theory]
    [InlineData("help")]
    [InlineData("")]
    public void Help_prints_the_usage_and_exits_0(string command)
    {
        var run = command.Length == 0 ? Run() : Run(command);

        run.ExitCode.Should().Be(0);
        run.Output.Should().Equal(RedstackScript.Usage());
        run.Output[0].Should().StartWith("redstack: the developer and CI entry point");
        run.Output.Should().Contain(l => l.Contains("./redstack.ps1 build-image DATASTORE [-o OUTPUT]"))
            .And.Contain(l => l.Contains("REDSTACK_DOTNET"))
            .And.NotContain(l => l.Contains("No param block"), "the usage ends with the header comment");
        run.Error.Should().BeEmpty();
        _dotnet.Calls().Should().BeEmpty();
    }

    [Fact]
    public void An_unknown_command_prints_the_usage_and_exits_64()
    {
        var run = Run("frobnicate", "now");

        run.ExitCode.Should().Be(64);
        run.Error.Should().Contain("unknown command 'frobnicate'");
        run.Output.Should().Equal(RedstackScript.Usage());
        _dotnet.Calls().Should().BeEmpty();
        _bash.Calls().Should().BeEmpty();
    }

    [Fact]
    public void Clean_removes_build_outputs_and_images_and_nothing_else()
    {
        // A scratch repository: clean works on the folder its script is in.
        var root = Directory.CreateTempSubdirectory("redstack-clean-").FullName;
        var outside = Directory.CreateTempSubdirectory("redstack-outside-").FullName;
        try
        {
            var script = Path.Combine(root, "redstack.ps1");
            File.Copy(RedstackScript.Path, script);
            string[] removed = ["agent/A/bin", "agent/A/obj", "tests/T/bin", "tests/T/obj", "tests/T/TestResults", "TestResults", "artifacts/images"];
            string[] kept = ["agent/A/src", "elements/e/bin", "elements/e/obj", ".git/objects/bin", ".hidden/P/bin", "artifacts/agent", "tests/T/Fixtures"];
            foreach (var folder in removed.Concat(kept))
            {
                Directory.CreateDirectory(Path.Combine(root, folder));
                File.WriteAllText(Path.Combine(root, folder, "file"), "x");
            }
            foreach (var project in new[] { "agent/A/A.csproj", "tests/T/T.csproj", ".hidden/P/P.csproj" }) File.WriteAllText(Path.Combine(root, project), "<Project />");
            // A link to a project elsewhere is not followed.
            File.WriteAllText(Path.Combine(outside, "O.csproj"), "<Project />");
            Directory.CreateDirectory(Path.Combine(outside, "bin"));
            Directory.CreateSymbolicLink(Path.Combine(root, "agent/A/linked"), outside);

            var run = HostedRedstack.Run(script, _caller, new Dictionary<string, string?>(), "clean");

            run.ExitCode.Should().Be(0);
            run.ErrorRecords.Should().BeEmpty();
            removed.Where(f => Directory.Exists(Path.Combine(root, f))).Should().BeEmpty();
            kept.Where(f => !File.Exists(Path.Combine(root, f, "file"))).Should().BeEmpty();
            File.Exists(Path.Combine(root, "agent/A/A.csproj")).Should().BeTrue();
            Directory.Exists(Path.Combine(outside, "bin")).Should().BeTrue("links are not followed");
            run.LocationAfter.Should().Be(_caller);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }
}
