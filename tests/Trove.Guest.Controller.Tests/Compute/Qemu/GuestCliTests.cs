using System.Runtime.Versioning;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Cli;
using Trove.Guest.Controller.Tests.Cli;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// <c>trove-guest ssh</c> and <c>log-fetch</c> in-process (<see cref="CliRun"/>) against a real sshd standing in for a qemu
/// guest: a command runs with its output and exit code, the instance found by name through the API
/// (<see cref="FakeTroveApi"/>) or by id with <c>--no-api</c>; without a command the printed OpenSSH line really connects
/// with the real <c>ssh</c> client; the journal command reaches the guest verbatim; <c>--console</c> needs no SSH; each
/// missing piece (no qemu server, no access.json, no pinned keys) exits 1, SSH failures 255.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class GuestCliTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private readonly Dictionary<string, string> _environment = [];

    private Task<CliRun> RunAsync(params string[] args) => CliRun.RunAsync(_environment, args);

    private (string Id, QemuServerLayout Layout) Guest(int? port = null, IReadOnlyList<string>? hostKeys = null)
    {
        var id = Guid.NewGuid().ToString();
        return (id, sshd.AddGuest(id, port ?? sshd.Port, hostKeys ?? [sshd.Ed25519HostKey]));
    }

    [Fact]
    public async Task Ssh_with_a_command_streams_its_output_and_exits_with_its_code()
    {
        var (id, _) = Guest();

        var run = await RunAsync("ssh", "--no-api", "--qemu-root", sshd.Root, id, "echo out; echo err >&2; exit 7");

        run.Code.Should().Be(7, run.ToString());
        run.Out.Should().Be("out\n");
        run.Err.Should().Be("err\n");
    }

    [Fact]
    public async Task Ssh_finds_the_instance_by_name_through_the_api_and_the_root_from_the_environment()
    {
        await using var api = await FakeTroveApi.StartAsync();
        var (id, _) = Guest();
        api.AddInstance("db1", id: id);
        _environment["OS_AUTH_URL"] = api.AuthUrl;
        _environment["OS_USERNAME"] = FakeTroveApi.User;
        _environment["OS_PASSWORD"] = FakeTroveApi.Password;
        _environment["OS_PROJECT_NAME"] = FakeTroveApi.Project;
        _environment["TROVE_GUEST_QEMU_ROOT"] = sshd.Root;

        var run = await RunAsync("ssh", "db1", "--", "ls", "-d", "/");

        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Be("/\n", "the words after -- are the command, options included");
        api.RequestsTo("GET", "/instances").Should().NotBeEmpty("the name was resolved through the API");
    }

    [Fact]
    public async Task Ssh_without_a_command_prints_an_openssh_line_that_connects_with_the_pinned_keys()
    {
        var (id, layout) = Guest();

        var run = await RunAsync("ssh", "--no-api", "--qemu-root", sshd.Root, id);

        run.Code.Should().Be(0, run.ToString());
        var knownHosts = Path.Combine(layout.Directory, "known_hosts");
        run.Out.Should().Be($"ssh -i {sshd.DeploymentKey} -p {sshd.Port} -o UserKnownHostsFile={knownHosts} root@127.0.0.1\n");
        (await File.ReadAllTextAsync(knownHosts, TestContext.Current.CancellationToken))
            .Should().Be($"[127.0.0.1]:{sshd.Port} {SshHostKey.Parse(sshd.Ed25519HostKey).OpenSshLine}\n");

        // The line as printed, with OpenSSH's client made strict: it connects only if known_hosts holds the server's key.
        var words = run.Out.Trim().Split(' ');
        var openssh = await CliWrap.Cli.Wrap(words[0])
            .WithArguments([.. words[1..^1], "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null",
                "-F", "/dev/null", words[^1], "echo via-openssh"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(TestContext.Current.CancellationToken);
        openssh.ExitCode.Should().Be(0, openssh.StandardError);
        openssh.StandardOutput.Should().Be("via-openssh\n");
    }

    [Fact]
    public async Task Log_fetch_runs_the_agents_journal_command_in_the_guest()
    {
        var (id, _) = Guest(sshd.EchoPort);

        var run = await RunAsync("log-fetch", "--no-api", "--qemu-root", sshd.Root, id);

        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Be("journalctl -u trove-guest-agent -b --no-pager -o short-iso\n", "this port's sshd prints the command it was sent");
    }

    [Fact]
    public async Task Log_fetch_console_prints_the_console_log_without_ssh()
    {
        var id = Guid.NewGuid().ToString();
        var layout = QemuServerLayout.Of(sshd.Root, id);
        Directory.CreateDirectory(layout.Directory);
        var console = "[    0.000000] Linux version 6.1.0-28-cloud-amd64\r\nDebian GNU/Linux 12 db1 ttyS0\r\n\r\ndb1 login: é";
        await File.WriteAllTextAsync(layout.ConsoleLog, console, TestContext.Current.CancellationToken);

        var run = await RunAsync("log-fetch", "--console", "--no-api", "--qemu-root", sshd.Root, id);

        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Be(console, "no access.json, no keys, no SSH: the host's file as it is");
    }

    [Fact]
    public async Task Each_missing_piece_exits_1_with_what_is_missing()
    {
        var absent = await RunAsync("ssh", "--no-api", "--qemu-root", sshd.Root, Guid.NewGuid().ToString(), "true");
        absent.Code.Should().Be(ExitCodes.NoGuest);
        absent.Err.Should().Contain("is not on the qemu compute driver");

        var id = Guid.NewGuid().ToString();
        Directory.CreateDirectory(QemuServerLayout.Of(sshd.Root, id).Directory);
        var notStarted = await RunAsync("ssh", "--no-api", "--qemu-root", sshd.Root, id, "true");
        notStarted.Code.Should().Be(ExitCodes.NoGuest);
        notStarted.Err.Should().Contain("access.json").And.Contain("has not been started");
        var noConsole = await RunAsync("log-fetch", "--console", "--no-api", "--qemu-root", sshd.Root, id);
        noConsole.Code.Should().Be(ExitCodes.NoGuest);
        noConsole.Err.Should().Contain("console.log");

        // Pinned nothing, and nothing listens on its port: a connection attempt would end in 255 after --connect-timeout.
        var (unpinned, _) = Guest(Trove.Guest.Testing.FreePorts.Find(), hostKeys: []);
        foreach (var args in new[] { new[] { "ssh", unpinned }, ["ssh", unpinned, "true"], ["log-fetch", unpinned] })
        {
            var run = await RunAsync([.. args, "--no-api", "--qemu-root", sshd.Root]);
            run.Code.Should().Be(ExitCodes.NoGuest, run.ToString());
            run.Err.Should().Contain("host keys of instance").And.Contain("not pinned yet");
        }
    }

    [Fact]
    public async Task Ssh_failures_exit_255_a_wrong_host_key_naming_its_fingerprint()
    {
        var otherKey = Path.Combine(sshd.Directory, "other-" + Guid.NewGuid().ToString("N")[..6]);
        await SshdFixture.KeygenAsync("-q", "-t", "ed25519", "-N", "", "-f", otherKey);
        var (id, _) = Guest(hostKeys: [(await File.ReadAllTextAsync(otherKey + ".pub", TestContext.Current.CancellationToken)).Trim()]);

        var run = await RunAsync("ssh", "--no-api", "--qemu-root", sshd.Root, id, "true");

        run.Code.Should().Be(ExitCodes.SshFailed, run.ToString());
        run.Err.Should().Contain(sshd.Ed25519Fingerprint);
    }

    [Fact]
    public async Task No_api_takes_an_id_only_and_the_verbs_are_in_the_help()
    {
        var byName = await RunAsync("ssh", "--no-api", "db1", "true");
        byName.Code.Should().Be(ExitCodes.Usage);
        byName.Err.Should().Contain("--no-api needs the instance's full id");

        var help = await RunAsync("--help");
        help.Out.Should().MatchRegex(@"\n\s+ssh <instance> <command>\s+Run a command in the qemu guest")
            .And.MatchRegex(@"\n\s+log-fetch <instance>\s+Print the guest agent's journal");
    }
}
