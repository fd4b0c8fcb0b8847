using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using FluentAssertions;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// <see cref="GuestShell"/> against a real sshd (<see cref="SshdFixture"/>): commands run with their exit code, stdout and
/// stderr; output streams while the command runs; only a pinned host key is accepted (a wrong one and an empty pin are
/// refused, naming OpenSSH's fingerprint, and the command never runs); a pinned RSA key is found although the server also
/// has ed25519; a guest whose SSH is not up yet (connections reset, then refused) is retried until it answers, and
/// given up at the deadline.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class GuestShellTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private static DateTimeOffset Soon => DateTimeOffset.UtcNow.AddSeconds(20);

    private GuestShell Shell(IReadOnlyList<string> hostKeys, int? port = null) =>
        new(new QemuGuestAccess(port ?? sshd.Port, 3306, hostKeys), sshd.DeploymentKey);

    [Fact]
    public async Task A_command_runs_as_root_and_its_exit_code_stdout_and_stderr_come_back()
    {
        var result = await Shell([sshd.Ed25519HostKey]).RunAsync("printf 'out %s\\n' \"$(id -un)\"; printf 'héllo err\\n' >&2; exit 3", Soon,
            TestContext.Current.CancellationToken);

        result.Should().Be(new GuestCommandResult(3, "out root\n", "héllo err\n"), sshd.SshdLog);
    }

    [Fact]
    public async Task Output_is_written_as_it_comes_not_when_the_command_ends()
    {
        var clock = Stopwatch.StartNew();
        var stdout = new TimedWriter(clock);
        var stderr = new StringWriter();

        var code = await Shell([sshd.Ed25519HostKey]).RunAsync("echo first; sleep 2; echo second", stdout, stderr, Soon, TestContext.Current.CancellationToken);
        var ended = clock.Elapsed;

        code.Should().Be(0);
        stdout.ToString().Should().Be("first\nsecond\n");
        stdout.FirstWriteAt.Should().BeLessThan(ended - TimeSpan.FromSeconds(1.5), "'first' arrived while the command still slept");
    }

    [Fact]
    public async Task A_host_key_that_is_not_the_pinned_one_is_refused_with_its_fingerprint_and_nothing_runs()
    {
        var otherKey = Path.Combine(sshd.Directory, "other-" + Guid.NewGuid().ToString("N")[..6]);
        await SshdFixture.KeygenAsync("-q", "-t", "ed25519", "-N", "", "-f", otherKey);
        var pinned = (await File.ReadAllTextAsync(otherKey + ".pub")).Trim();
        var marker = Path.Combine(sshd.Directory, "ran-" + Guid.NewGuid().ToString("N"));

        var run = () => Shell([pinned]).RunAsync($"touch {marker}", Soon, TestContext.Current.CancellationToken);

        var refusal = (await run.Should().ThrowAsync<GuestHostKeyException>()).Which;
        refusal.Message.Should().Contain(sshd.Ed25519Fingerprint, "the message names the presented key as ssh-keygen -l does")
            .And.Contain(SshHostKey.Parse(pinned).Fingerprint, "and the pinned one");
        refusal.Presented.Fingerprint.Should().Be(sshd.Ed25519Fingerprint);
        refusal.Presented.Type.Should().Be("ssh-ed25519");
        File.Exists(marker).Should().BeFalse("the connection ends in the key exchange, before authentication");
    }

    [Fact]
    public async Task With_nothing_pinned_the_key_is_never_trusted_on_first_use()
    {
        var marker = Path.Combine(sshd.Directory, "ran-" + Guid.NewGuid().ToString("N"));

        var run = () => Shell([]).RunAsync($"touch {marker}", Soon, TestContext.Current.CancellationToken);

        var refusal = (await run.Should().ThrowAsync<GuestHostKeyException>()).Which;
        refusal.Message.Should().Contain("no host key is pinned").And.Contain("SHA256:");
        refusal.Presented.Type.Should().BeOneOf("ssh-ed25519", "ssh-rsa");
        File.Exists(marker).Should().BeFalse();
    }

    [Fact]
    public async Task A_pinned_rsa_key_is_asked_for_although_the_server_prefers_ed25519()
    {
        var result = await Shell([sshd.RsaHostKey]).RunAsync("echo rsa", Soon, TestContext.Current.CancellationToken);

        result.ExitCode.Should().Be(0, sshd.SshdLog);
        result.StandardOutput.Should().Be("rsa\n");
    }

    [Fact]
    public async Task A_guest_whose_ssh_resets_then_refuses_connections_while_it_boots_is_retried_until_it_answers()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = FreePorts.Find();
        // First qemu's forward with nothing behind it: connections accepted and reset at once.
        var forward = new TcpListener(IPAddress.Loopback, port);
        forward.Start();
        var resets = 0;
        var resetting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var accepted = await forward.AcceptSocketAsync(ct);
                    accepted.LingerState = new LingerOption(true, 0);
                    resets++;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }, ct);
        var run = Shell([sshd.Ed25519HostKey], port).RunAsync("echo up", DateTimeOffset.UtcNow.AddSeconds(30), ct);

        await Task.Delay(TimeSpan.FromSeconds(1.5), ct);
        forward.Stop();
        await resetting;
        // Then nothing listens for a moment (refused), then sshd comes up.
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await using var late = await sshd.StartSshdAsync("late-" + Guid.NewGuid().ToString("N")[..6], port);

        var result = await run;
        result.Should().Be(new GuestCommandResult(0, "up\n", ""), late.Log);
        resets.Should().BeGreaterThan(1, "each attempt while the forward reset was retried");
    }

    [Fact]
    public async Task A_guest_that_never_answers_is_given_up_at_the_deadline()
    {
        var port = FreePorts.Find();
        var clock = Stopwatch.StartNew();

        var run = () => Shell([sshd.Ed25519HostKey], port).RunAsync("true", DateTimeOffset.UtcNow.AddSeconds(2), TestContext.Current.CancellationToken);

        var failure = (await run.Should().ThrowAsync<GuestUnreachableException>()).Which;
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(1.9)).And.BeLessThan(TimeSpan.FromSeconds(8));
        failure.Attempts.Should().BeGreaterThan(2);
        failure.Message.Should().Contain($"127.0.0.1:{port}");
        failure.InnerException.Should().BeOfType<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused);
    }

    [Fact]
    public async Task A_key_that_is_not_authorized_is_an_authentication_failure_not_retried()
    {
        var stranger = Path.Combine(sshd.Directory, "stranger-" + Guid.NewGuid().ToString("N")[..6]);
        await SshdFixture.KeygenAsync("-q", "-t", "ed25519", "-N", "", "-f", stranger);
        var shell = new GuestShell(new QemuGuestAccess(sshd.Port, 3306, [sshd.Ed25519HostKey]), stranger);
        var clock = Stopwatch.StartNew();

        var run = () => shell.RunAsync("true", DateTimeOffset.UtcNow.AddSeconds(20), TestContext.Current.CancellationToken);

        await run.Should().ThrowAsync<Renci.SshNet.Common.SshAuthenticationException>();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a refused key does not change while the deadline runs");
    }

    /// <summary>Remembers when (on <paramref name="clock"/>) the first text arrived.</summary>
    private sealed class TimedWriter(Stopwatch clock) : StringWriter
    {
        public TimeSpan FirstWriteAt { get; private set; } = TimeSpan.MaxValue;

        public override void Write(char[] buffer, int index, int count)
        {
            if (FirstWriteAt == TimeSpan.MaxValue) FirstWriteAt = clock.Elapsed;
            base.Write(buffer, index, count);
        }

        public override Encoding Encoding => Encoding.UTF8;
    }
}
