using System.Runtime.Versioning;
using CliWrap;
using CliWrap.Buffered;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// A stand-in for a qemu guest's SSH side, with a real sshd: a qemu driver root with the deployment key (made by
/// <see cref="DeploymentKeys"/>), the "guest's" host keys (ed25519 and RSA, made by ssh-keygen), and an sshd on
/// 127.0.0.1 that lets root in with the deployment key only, on <see cref="Port"/> (runs commands) and
/// <see cref="EchoPort"/> (prints the command it was asked to run). <see cref="AddGuest"/> lays out a server directory
/// with its access.json as the driver would.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SshdFixture : IAsyncLifetime
{
    private TestSshd? _sshd;

    public string Directory { get; } = Path.Combine("/tmp", "tgssh-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The qemu driver's root: holds ssh/id_ed25519 and one directory per server.</summary>
    public string Root => Path.Combine(Directory, "qemu");

    public int Port { get; private set; }
    public int EchoPort { get; private set; }

    /// <summary>The host keys' files (private; the public halves are FILE.pub).</summary>
    public string Ed25519HostKeyFile => Path.Combine(Directory, "host_ed25519");
    public string RsaHostKeyFile => Path.Combine(Directory, "host_rsa");
    public string AuthorizedKeysFile => Path.Combine(Directory, "authorized_keys");

    /// <summary>The host keys as a guest prints them (<c>type base64 comment</c>).</summary>
    public string Ed25519HostKey { get; private set; } = "";
    public string RsaHostKey { get; private set; } = "";

    /// <summary>OpenSSH's fingerprint of the ed25519 host key (<c>ssh-keygen -l</c>), the reference for ours.</summary>
    public string Ed25519Fingerprint { get; private set; } = "";

    public string DeploymentKey => QemuServerLayout.DeploymentKey(Root);

    public string SshdLog => _sshd?.Log ?? "";

    public async ValueTask InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var publicKey = await DeploymentKeys.EnsureAsync(Root, CancellationToken.None);
        await File.WriteAllTextAsync(AuthorizedKeysFile, publicKey + "\n");
        await KeygenAsync("-q", "-t", "ed25519", "-N", "", "-C", "root@guest", "-f", Ed25519HostKeyFile);
        await KeygenAsync("-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "root@guest", "-f", RsaHostKeyFile);
        Ed25519HostKey = (await File.ReadAllTextAsync(Ed25519HostKeyFile + ".pub")).Trim();
        RsaHostKey = (await File.ReadAllTextAsync(RsaHostKeyFile + ".pub")).Trim();
        // "256 SHA256:abc... root@guest (ED25519)"
        Ed25519Fingerprint = (await KeygenAsync("-l", "-f", Ed25519HostKeyFile + ".pub")).Split(' ')[1];
        Port = FreePorts.Find();
        EchoPort = FreePorts.Find();
        _sshd = await StartSshdAsync("sshd", Port, EchoPort);
    }

    /// <summary>Another sshd with the same keys (a guest whose SSH comes up later).</summary>
    public Task<TestSshd> StartSshdAsync(string name, int port, int? echoPort = null) =>
        TestSshd.StartAsync(Directory, name, port, [Ed25519HostKeyFile, RsaHostKeyFile], AuthorizedKeysFile, echoPort);

    /// <summary>A server directory for <paramref name="instanceId"/> under <see cref="Root"/> with its access.json.</summary>
    public QemuServerLayout AddGuest(string instanceId, int sshPort, IReadOnlyList<string> hostKeys)
    {
        var layout = QemuServerLayout.Of(Root, instanceId);
        System.IO.Directory.CreateDirectory(layout.Directory);
        new QemuGuestAccess(sshPort, 3306, hostKeys).Write(layout.AccessFile);
        return layout;
    }

    public static async Task<string> KeygenAsync(params string[] args) =>
        (await CliWrap.Cli.Wrap("ssh-keygen").WithArguments(args).ExecuteBufferedAsync()).StandardOutput;

    public async ValueTask DisposeAsync()
    {
        if (_sshd is not null) await _sshd.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
