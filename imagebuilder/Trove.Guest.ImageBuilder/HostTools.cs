using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.ImageBuilder;

/// <summary>A host tool failed: the message names the build step it was in and quotes the tool's stderr.</summary>
public sealed class HostToolException(string step, string tool, int exitCode, string stderr)
    : Exception($"{step}: {tool} failed with exit code {exitCode}: {stderr.Trim()}");

/// <summary>The host tools a build runs (mount, tar, mkfs, sfdisk, mtools, grub-mk*, qemu-img), through CliWrap, each in a named step.</summary>
internal static class HostTools
{
    public static async Task<string> RunAsync(string step, string tool, IReadOnlyList<string> arguments, CancellationToken ct,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        var command = Cli.Wrap(tool).WithArguments(arguments).WithValidation(CommandResultValidation.None)
            // mtools refuses images whose FAT geometry it cannot match to a floppy; an image file has none to match.
            .WithEnvironmentVariables(e => e.Set("MTOOLS_SKIP_CHECK", "1").Set(environment ?? new Dictionary<string, string?>()));
        if (stdin is not null) command = command.WithStandardInputPipe(PipeSource.FromString(stdin));
        BufferedCommandResult result;
        try
        {
            result = await command.ExecuteBufferedAsync(ct).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HostToolException(step, tool, -1, $"{e.Message} (is it installed?)");
        }
        if (result.ExitCode != 0) throw new HostToolException(step, tool, result.ExitCode, result.StandardError.Length > 0 ? result.StandardError : result.StandardOutput);
        return result.StandardOutput;
    }
}
