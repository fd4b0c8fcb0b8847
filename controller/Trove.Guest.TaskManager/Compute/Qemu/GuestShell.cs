using System.Net.Sockets;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// Runs commands in a qemu guest over SSH: <c>root@127.0.0.1:SshPort</c> (qemu's hostfwd to the guest's sshd) with the
/// deployment's private key. The server must present one of the host keys pinned in <see cref="QemuGuestAccess.HostKeys"/>
/// (same type, same key bytes); any other key, or any key while nothing is pinned, ends the connection during the key
/// exchange, before authentication, with a <see cref="GuestHostKeyException"/>. A key is never trusted on first use.
/// While the guest boots, qemu accepts on the forwarded port and drops the connection, or nothing listens yet: those
/// attempts are retried until the caller's deadline.
/// </summary>
public sealed class GuestShell
{
    public const string Host = "127.0.0.1";
    public const string User = "root";

    /// <summary>What OpenSSH's client exits with when the remote command gave no exit status (it was killed by a signal).</summary>
    public const int NoExitStatus = 255;

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyList<SshHostKey> _pinned;
    private readonly string _privateKeyFile;

    /// <param name="access">The guest's forwarded SSH port and pinned host keys.</param>
    /// <param name="privateKeyFile">The deployment's private key (<see cref="QemuServerLayout.DeploymentKey"/>).</param>
    public GuestShell(QemuGuestAccess access, string privateKeyFile)
    {
        Port = access.SshPort;
        _pinned = [.. access.HostKeys.Select(SshHostKey.Parse)];
        _privateKeyFile = privateKeyFile;
    }

    public int Port { get; }

    /// <summary>How long one connection attempt may take (TCP connect, banner, key exchange, authentication).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long each operation of an established session may take (opening the command's channel, its requests): a busy
    /// guest under emulation (TCG) can take well over the connect timeout to fork a session.
    /// </summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The guest of <paramref name="layout"/>, with the deployment key of <paramref name="root"/>.</summary>
    public static GuestShell For(string root, QemuServerLayout layout) =>
        new(QemuGuestAccess.Read(layout.AccessFile), QemuServerLayout.DeploymentKey(root));

    /// <summary>Runs <paramref name="command"/> (a shell command line) and collects its output.</summary>
    /// <param name="connectBy">Until when connection attempts that fail because the guest is not up yet are retried.</param>
    public async Task<GuestCommandResult> RunAsync(string command, DateTimeOffset connectBy, CancellationToken ct)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RunAsync(command, stdout, stderr, connectBy, ct).ConfigureAwait(false);
        return new GuestCommandResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Runs <paramref name="command"/>, writing its output to <paramref name="stdout"/> and <paramref name="stderr"/> as
    /// it comes (each from its own thread: give two different writers). Returns its exit code, or
    /// <see cref="NoExitStatus"/>. Cancelling <paramref name="ct"/> sends the command SIGTERM.
    /// </summary>
    public async Task<int> RunAsync(string command, TextWriter stdout, TextWriter stderr, DateTimeOffset connectBy, CancellationToken ct)
    {
        using var key = new PrivateKeyFile(_privateKeyFile);
        using var client = await ConnectAsync(key, connectBy, ct).ConfigureAwait(false);
        using var remote = client.CreateCommand(command, Encoding.UTF8);
        var execution = remote.ExecuteAsync(ct);
        // The streams end when the channel closes (SSH.NET disposes them), so both copies finish with the command.
        var copies = Task.WhenAll(CopyAsync(remote.OutputStream, stdout), CopyAsync(remote.ExtendedOutputStream, stderr));
        try
        {
            await execution.ConfigureAwait(false);
        }
        finally
        {
            await copies.ConfigureAwait(false);
        }
        return remote.ExitStatus ?? NoExitStatus;
    }

    private async Task<SshClient> ConnectAsync(PrivateKeyFile key, DateTimeOffset connectBy, CancellationToken ct)
    {
        var pause = FirstPause;
        Exception? last = null;
        for (var attempt = 1; ; attempt++)
        {
            var left = connectBy - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero) throw new GuestUnreachableException(Port, attempt - 1, last);
            var timeout = left < ConnectTimeout ? left : ConnectTimeout;
            var info = new PrivateKeyConnectionInfo(Host, Port, User, key) { Timeout = timeout };
            OfferPinnedKeyTypesOnly(info);
            var check = new HostKeyCheck(Port, _pinned);
            var client = new SshClient(info) { KeepAliveInterval = TimeSpan.FromSeconds(15) };
            client.HostKeyReceived += check.OnHostKey;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            try
            {
                await client.ConnectAsync(limit.Token).ConfigureAwait(false);
                // The connect timeout bounded the handshake; SSH.NET waits for every later session operation as long.
                info.Timeout = OperationTimeout;
                return client;
            }
            catch (Exception) when (check.Refusal is { } refusal)
            {
                client.Dispose();
                throw refusal;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsGuestNotUpYet(e))
            {
                client.Dispose();
                // A last attempt that the deadline cut short times out before the guest could answer at all: the failure
                // before it (refused, reset) says more about the guest.
                var cutShort = timeout < ConnectTimeout && e is Renci.SshNet.Common.SshOperationTimeoutException or OperationCanceledException;
                if (last is null || !cutShort) last = e;
            }
            catch
            {
                client.Dispose();
                throw;
            }
            var wait = connectBy - DateTimeOffset.UtcNow;
            if (wait > pause) wait = pause;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }

    /// <summary>
    /// Failures of a guest that is still booting: nothing listens (refused), qemu's forward accepted and the guest reset it,
    /// the connection closed before or during the handshake, or no answer in time. Authentication failures are not.
    /// </summary>
    private static bool IsGuestNotUpYet(Exception e) => e switch
    {
        SshAuthenticationException => false,
        SocketException s => s.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset or SocketError.ConnectionAborted
            or SocketError.TimedOut or SocketError.Shutdown,
        SshConnectionException or SshOperationTimeoutException or OperationCanceledException => true,
        IOException { InnerException: SocketException inner } => IsGuestNotUpYet(inner),
        IOException => true,
        _ => e.InnerException is { } inner && IsGuestNotUpYet(inner),
    };

    /// <summary>
    /// Offers only the host key algorithms of the pinned key types (RSA keys sign as rsa-sha2-512/256 too), so a guest with
    /// more keys than it printed presents a pinned one; never certificates. With nothing pinned every plain type stays, so
    /// that the refusal can name the key the guest has.
    /// </summary>
    private void OfferPinnedKeyTypesOnly(ConnectionInfo info)
    {
        var pinnedTypes = _pinned.Select(k => k.Type).ToHashSet(StringComparer.Ordinal);
        foreach (var algorithm in info.HostKeyAlgorithms.Keys.ToList())
        {
            var keyType = algorithm is "rsa-sha2-512" or "rsa-sha2-256" ? "ssh-rsa" : algorithm;
            if (algorithm.Contains("-cert-", StringComparison.Ordinal) || (pinnedTypes.Count > 0 && !pinnedTypes.Contains(keyType)))
                info.HostKeyAlgorithms.Remove(algorithm);
        }
    }

    private static Task CopyAsync(Stream from, TextWriter to) => Task.Run(() =>
    {
        // SSH.NET's pipe streams block on read: a thread each, writing every chunk as it arrives.
        using var reader = new StreamReader(from, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        var buffer = new char[4096];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            to.Write(buffer, 0, read);
            to.Flush();
        }
    });

    /// <summary>Compares the presented host key with the pinned ones and remembers a refusal for the caller to throw.</summary>
    private sealed class HostKeyCheck(int port, IReadOnlyList<SshHostKey> pinned)
    {
        public GuestHostKeyException? Refusal { get; private set; }

        public void OnHostKey(object? sender, HostKeyEventArgs e)
        {
            var presented = SshHostKey.FromBlob(e.HostKey);
            e.CanTrust = e.Certificate is null && pinned.Any(p => p.SameKeyAs(presented));
            if (!e.CanTrust) Refusal = new GuestHostKeyException(port, presented, pinned);
        }
    }
}
