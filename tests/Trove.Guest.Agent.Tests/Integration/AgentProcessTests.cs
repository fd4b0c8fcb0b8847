using Trove.Guest.Testing;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Trove.Guest.Agent.Tests.Infrastructure;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>
/// The trove-guest-agent executable as systemd runs it (Type=notify): READY=1 only once its topic has a consumer,
/// STOPPING=1 and a clean exit on SIGTERM, and a configuration error that names the file and stops start-up.
/// </summary>
public sealed class AgentProcessTests(BrokerFixture broker) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tgp-").FullName;
    private static string Agent => Path.Combine(AppContext.BaseDirectory, "trove-guest-agent");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(string guestId, string extra = "")
    {
        var conf = Path.Combine(_dir, "conf.d");
        Directory.CreateDirectory(conf);
        File.WriteAllText(Path.Combine(conf, "guest_info.conf"), $"[DEFAULT]\nguest_id = {guestId}\ndatastore_manager = mariadb\n");
        File.WriteAllText(Path.Combine(conf, "trove-guestagent.conf"), $"""
            [DEFAULT]
            transport_url = {broker.Url}
            control_exchange = trove
            {extra}
            [mariadb]
            mount_point = {_dir}/mnt
            [trove_guest]
            engine_supervisor = process
            engine_socket = {_dir}/m.sock
            state_dir = {_dir}/state
            engine_config_dir = {_dir}/etc
            """);
        return conf;
    }

    [Fact]
    public async Task Ready_is_sent_once_the_topic_is_consumed_and_stopping_on_sigterm()
    {
        var id = Guid.NewGuid().ToString();
        var conf = WriteConfig(id);
        var notify = Path.Combine(_dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(notify));

        var psi = new ProcessStartInfo(Agent) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("--config-dir");
        psi.ArgumentList.Add(conf);
        psi.Environment["NOTIFY_SOCKET"] = notify;
        psi.Environment["WATCHDOG_USEC"] = "400000"; // WatchdogSec=0.4: pings every 0.2 s
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();

        var messages = new List<string>();
        while (!messages.Any(m => m.Contains("READY=1"))) messages.Add(await ReceiveAsync(socket, TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 3; i++) messages.Add(await ReceiveAsync(socket, TimeSpan.FromSeconds(5)));
        messages.Count(m => m.Contains("WATCHDOG=1")).Should().BeGreaterThanOrEqualTo(2, "the watchdog is fed while the agent runs");
        var queues = await broker.Broker.CtlAsync("list_queues", "-q", "--no-table-headers", "name", "consumers");
        queues.Split('\n').Should().Contain($"guestagent.{id}\t1", "READY means the guest API already consumes from its topic");

        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString()])) await term.WaitForExitAsync();
        string message;
        do message = await ReceiveAsync(socket, TimeSpan.FromSeconds(30));
        while (message.Contains("WATCHDOG=1"));
        message.Should().Contain("STOPPING=1");
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        process.ExitCode.Should().Be(0, await stderr);
    }

    [Fact]
    public async Task A_bad_configuration_stops_start_up_with_exit_78_naming_the_problem()
    {
        var conf = WriteConfig(Guid.NewGuid().ToString(), "report_interval = often");
        var psi = new ProcessStartInfo(Agent) { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add($"--config-dir={conf}");
        using var process = Process.Start(psi)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        process.ExitCode.Should().Be(78);
        stderr.Should().Contain("trove-guestagent.conf").And.Contain("[DEFAULT] report_interval").And.Contain("not an integer");
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
