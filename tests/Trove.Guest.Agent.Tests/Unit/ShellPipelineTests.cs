using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Tests.Unit;

/// <summary>Words reach the programs of a shell pipeline unchanged, whatever they contain; a failing first program fails the pipeline.</summary>
public sealed class ShellPipelineTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("it's")]
    [InlineData("$(touch /tmp/pwned) `id` ${HOME}")]
    [InlineData("a b\tc")]
    [InlineData("'; rm -rf / #")]
    [InlineData("--option=x|y>z")]
    public async Task Arguments_pass_literally(string word)
    {
        var result = await ShellPipeline.Create("/usr/bin/printf", ["%s", word], "/usr/bin/cat", []).ExecuteBufferedAsync();
        result.StandardOutput.Should().Be(word);
    }

    [Fact]
    public async Task The_first_programs_failure_and_stderr_file_are_kept()
    {
        var log = Path.GetTempFileName();
        try
        {
            var result = await ShellPipeline.Create("/bin/sh", ["-c", "echo broken >&2; exit 3"], "/usr/bin/cat", [], firstStderrFile: log)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
            result.ExitCode.Should().Be(3, "pipefail");
            (await File.ReadAllTextAsync(log)).Should().Be("broken\n");
        }
        finally
        {
            File.Delete(log);
        }
    }
}
