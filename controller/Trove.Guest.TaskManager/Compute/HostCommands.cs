using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// Runs the host's tools (losetup, mount, umount, blkid) for the <c>process</c> driver. A failure names the command
/// line and quotes its stderr, so "no free loop device" or "disk full" reach the instance's fault as the tool said them.
/// Arguments are paths and device names only: nothing secret goes into an argv.
/// </summary>
internal static class HostCommands
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<string> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct)
    {
        var result = await TryRunAsync(tool, args, ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new ComputeDriverException($"'{tool} {string.Join(' ', args)}' failed (exit {result.ExitCode}): {Stderr(result)}");
        return result.StandardOutput;
    }

    public static async Task<BufferedCommandResult> TryRunAsync(string tool, IReadOnlyList<string> args, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(Timeout);
        try
        {
            return await Cli.Wrap(tool).WithArguments(args).WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ComputeDriverException($"'{tool} {string.Join(' ', args)}' did not finish within {Timeout.TotalSeconds} s");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ComputeDriverException($"'{tool}' could not be run: {e.Message}", e);
        }
    }

    private static string Stderr(BufferedCommandResult result) =>
        result.StandardError.Trim() is { Length: > 0 } err ? err : "(no message)";
}
