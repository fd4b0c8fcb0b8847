using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.ImageBuilder.Disk;

/// <summary>A disk tool failed: the message names the step it was in and quotes the tool's stderr.</summary>
public sealed class DiskToolException(string step, string tool, int exitCode, string stderr)
    : Exception($"{step}: {tool} failed with exit code {exitCode}: {stderr.Trim()}");

/// <summary>External disk tools (mkfs, sfdisk, mtools, grub-mk*), run through CliWrap with a named step.</summary>
internal static class DiskTools
{
    public static async Task<string> RunAsync(string step, string tool, IReadOnlyList<string> arguments, CancellationToken ct,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        var command = Cli.Wrap(tool).WithArguments(arguments).WithValidation(CommandResultValidation.None)
            .WithEnvironmentVariables(e => e.Set("MTOOLS_SKIP_CHECK", "1").Set(environment ?? new Dictionary<string, string?>()));
        if (stdin is not null) command = command.WithStandardInputPipe(PipeSource.FromString(stdin));
        BufferedCommandResult result;
        try
        {
            result = await command.ExecuteBufferedAsync(ct).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DiskToolException(step, tool, -1, $"{e.Message} (is it installed?)");
        }
        if (result.ExitCode != 0) throw new DiskToolException(step, tool, result.ExitCode, result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput);
        return result.StandardOutput;
    }
}
