namespace Trove.Guest.Cli;

/// <summary>
/// The exit codes of the Trove API commands (everything but <c>rpc</c>), which scripts may rely on:
/// <list type="table">
/// <item><term>0</term><description>done (with <c>--wait</c>: the operation settled as asked)</description></item>
/// <item><term>1</term><description>the API refused the request (4xx other than 401, or 5xx; Trove's fault message on stderr),
/// or a name matched no resource or several; for <c>ssh</c> and <c>log-fetch</c>, also: the instance has no qemu guest to
/// reach (not on the qemu driver, not started yet, its host keys not pinned yet)</description></item>
/// <item><term>2</term><description>a <c>--wait</c> ended with the resource in ERROR or FAILED</description></item>
/// <item><term>3</term><description>the API could not be reached (connection refused, timeout, an answer that is not Trove's JSON)</description></item>
/// <item><term>4</term><description>authentication failed (wrong user, password or project; an expired token)</description></item>
/// <item><term>5</term><description>a <c>--wait</c> ran out of time (<c>--timeout</c>)</description></item>
/// <item><term>64</term><description>usage: unknown options, missing arguments or credentials, bad values</description></item>
/// <item><term>255</term><description><c>ssh</c> and <c>log-fetch</c>: the guest's SSH server did not answer in time, or the
/// connection was refused (a host key that is not pinned, the deployment key not accepted), as OpenSSH's <c>ssh</c> exits;
/// otherwise they exit with the remote command's code</description></item>
/// </list>
/// <c>rpc call|cast</c> keeps its own codes (see <see cref="CliApp"/>).
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int ApiRefused = 1;
    public const int WaitFailed = 2;
    public const int Unreachable = 3;
    public const int AuthFailed = 4;
    public const int WaitTimedOut = 5;
    public const int Usage = 64;
    public const int NoGuest = 1;
    public const int SshFailed = 255;
}
