using System.CommandLine;
using System.Text;
using System.Text.RegularExpressions;
using Renci.SshNet.Common;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// Reaching the guest of an instance on the <c>qemu</c> compute driver from the controller's host:
/// <c>ssh INSTANCE [COMMAND...]</c> runs a command as root over SSH (qemu's forward on 127.0.0.1, the deployment key, the
/// host keys pinned from the guest's console) and exits with its code, or, without a COMMAND, prints the OpenSSH
/// command line that connects the same way; <c>log-fetch INSTANCE</c> prints the guest agent's journal, or with
/// <c>--console</c> the serial console log that qemu keeps on the host.
/// </summary>
internal static partial class GuestCommands
{
    public const string AgentJournalCommand = "journalctl -u trove-guest-agent -b --no-pager -o short-iso";

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        yield return Ssh(build);
        yield return LogFetch(build);
    }

    private static Command Ssh(ApiCommandBuilder build)
    {
        var guest = new GuestOptions();
        var words = new Argument<string[]>("command")
        {
            Description = "the command to run as root (its words joined with spaces, for root's shell, as ssh does; put -- before a "
                + "command that has options); without it, print the OpenSSH command line that connects",
            Arity = ArgumentArity.ZeroOrMore,
        };
        return build.CreateLocal("ssh", "Run a command in the qemu guest of an instance over SSH, or print how to connect with OpenSSH",
            [guest.Instance, words, guest.QemuRoot, guest.NoApi, guest.ConnectTimeout], async (parse, ct) =>
            {
                var files = await guest.FindAsync(parse, build, ct).ConfigureAwait(false);
                var access = files.PinnedAccess();
                var command = parse.GetValue(words) ?? [];
                if (command.Length == 0)
                {
                    var knownHosts = GuestKnownHosts.Write(files.Layout, access);
                    await build.Io.Out.WriteLineAsync(
                        $"ssh -i {ShellQuote(files.DeploymentKey)} -p {access.SshPort} -o UserKnownHostsFile={ShellQuote(knownHosts)} {GuestShell.User}@{GuestShell.Host}")
                        .ConfigureAwait(false);
                    return ExitCodes.Ok;
                }
                return await RunAsync(files, access, string.Join(' ', command), guest.ConnectBy(parse), build.Io, ct).ConfigureAwait(false);
            });
    }

    private static Command LogFetch(ApiCommandBuilder build)
    {
        var guest = new GuestOptions();
        var console = new Option<bool>("--console") { Description = "print the guest's serial console log, kept on this host (no SSH)" };
        return build.CreateLocal("log-fetch", $"Print the guest agent's journal of an instance's qemu guest ({AgentJournalCommand}, over SSH)",
            [guest.Instance, console, guest.QemuRoot, guest.NoApi, guest.ConnectTimeout], async (parse, ct) =>
            {
                var files = await guest.FindAsync(parse, build, ct).ConfigureAwait(false);
                if (!parse.GetValue(console))
                    return await RunAsync(files, files.PinnedAccess(), AgentJournalCommand, guest.ConnectBy(parse), build.Io, ct).ConfigureAwait(false);
                if (!File.Exists(files.Layout.ConsoleLog))
                    throw new CliFailure(ExitCodes.NoGuest, $"ERROR: instance {files.InstanceId} has no {files.Layout.ConsoleLog} yet: its guest has not been started");
                // qemu may be appending to it: share it, and print what is there now.
                using var stream = new FileStream(files.Layout.ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var buffer = new char[16384];
                int read;
                while ((read = await reader.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    await build.Io.Out.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                await build.Io.Out.FlushAsync(ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            });
    }

    /// <summary>Runs <paramref name="command"/> in the guest, its output streamed to ours; its exit code, or 255 when SSH failed.</summary>
    private static async Task<int> RunAsync(QemuGuestFiles files, QemuGuestAccess access, string command, DateTimeOffset connectBy, CliEnvironment io,
        CancellationToken ct)
    {
        var shell = new GuestShell(access, files.DeploymentKey);
        try
        {
            return await shell.RunAsync(command, io.Out, io.Err, connectBy, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GuestHostKeyException or GuestUnreachableException)
        {
            throw new CliFailure(ExitCodes.SshFailed, $"ERROR: {e.Message}");
        }
        catch (SshAuthenticationException e)
        {
            throw new CliFailure(ExitCodes.SshFailed,
                $"ERROR: the guest of instance {files.InstanceId} did not accept the deployment key {files.DeploymentKey}: {e.Message}");
        }
        catch (Exception e) when (e is SshException or IOException or UnauthorizedAccessException && !ct.IsCancellationRequested)
        {
            throw new CliFailure(ExitCodes.SshFailed, $"ERROR: SSH to the guest of instance {files.InstanceId} failed: {e.Message}");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_@%+=:,./-]+$")]
    private static partial Regex ShellSafe();

    /// <summary>A path as a POSIX shell word: as is when it has nothing the shell would read, single-quoted otherwise.</summary>
    private static string ShellQuote(string word) => ShellSafe().IsMatch(word) ? word : $"'{word.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
