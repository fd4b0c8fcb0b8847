using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>
/// A private RabbitMQ node on 127.0.0.1 without systemd, as <c>../shared/interop/rabbitmq_ci.sh</c> starts one: its own
/// epmd, node name, ports and directory. Stopped by PID (never by process name: other nodes may share the machine).
/// </summary>
public sealed class RabbitMqBroker : IAsyncDisposable
{
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private const string Ctl = "/usr/lib/rabbitmq/bin/rabbitmqctl";
    private readonly Dictionary<string, string?> _env;
    private Process? _epmd;
    private Process? _server;

    private RabbitMqBroker(int port, int distPort, int epmdPort, string directory)
    {
        Port = port;
        EpmdPort = epmdPort;
        Directory = directory;
        _env = new Dictionary<string, string?>
        {
            ["HOME"] = directory,
            ["RABBITMQ_NODENAME"] = $"rabbit_tg_{port}@localhost",
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = port.ToString(),
            ["RABBITMQ_DIST_PORT"] = distPort.ToString(),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["ERL_EPMD_PORT"] = epmdPort.ToString(),
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            ["RABBITMQ_CTL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(directory, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(directory, "log"),
            ["RABBITMQ_PID_FILE"] = PidFile,
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(directory, "enabled_plugins"),
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(directory, "rabbitmq-env.conf"),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(directory, "rabbitmq"),
            ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(directory, "advanced.config"),
        };
    }

    public int Port { get; }
    public int EpmdPort { get; }
    public string Directory { get; }
    private string PidFile => Path.Combine(Directory, "rabbit.pid");

    /// <summary>The oslo transport URL of this node.</summary>
    public string Url => $"rabbit://guest:guest@127.0.0.1:{Port}/";

    public static async Task<RabbitMqBroker> StartAsync()
    {
        var port = FreePorts.Find();
        var distPort = FreePorts.Find();
        var epmdPort = FreePorts.Find();
        var dir = Path.Combine(Path.GetTempPath(), $"trove-guest-rmq-{port}");
        if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "mnesia"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "log"));
        await File.WriteAllTextAsync(Path.Combine(dir, "enabled_plugins"), "[].");
        await File.WriteAllTextAsync(Path.Combine(dir, "rabbitmq-env.conf"), "");
        var broker = new RabbitMqBroker(port, distPort, epmdPort, dir);
        broker._epmd = broker.Launch("epmd", ["-address", "127.0.0.1", "-port", epmdPort.ToString()], "epmd.out");
        await broker.StartNodeAsync();
        return broker;
    }

    /// <summary>Starts the node (again) on the same port and directory and waits until AMQP accepts connections.</summary>
    public async Task StartNodeAsync()
    {
        _server = Launch(ServerScript, [], "server.out");
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (await FreePorts.AcceptsAsync(Port)) return;
            if (_server.HasExited)
                throw new InvalidOperationException($"rabbitmq-server exited early: {await File.ReadAllTextAsync(Path.Combine(Directory, "server.out"))}");
            await Task.Delay(100);
        }
        throw new TimeoutException($"RabbitMQ did not open port {Port} within 90 s");
    }

    /// <summary>Stops the node by its PID file (rabbitmqctl stop waits for that PID), killing it if needed.</summary>
    public async Task StopNodeAsync()
    {
        if (_server is null) return;
        var beamPid = File.Exists(PidFile) && int.TryParse((await File.ReadAllTextAsync(PidFile)).Trim(), out var p) ? p : 0;
        try
        {
            await CliWrap.Cli.Wrap(Ctl).WithArguments(["stop", PidFile]).WithEnvironmentVariables(_env)
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        catch (OperationCanceledException)
        {
        }
        if (beamPid > 0) KillPid(beamPid);
        if (!_server.WaitForExit(10_000)) _server.Kill(entireProcessTree: true);
        _server.Dispose();
        _server = null;
    }

    /// <summary>Runs rabbitmqctl against this node.</summary>
    public async Task<string> CtlAsync(params string[] args)
    {
        var result = await CliWrap.Cli.Wrap(Ctl).WithArguments(args).WithEnvironmentVariables(_env)
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', args)}: {result.StandardError}");
        return result.StandardOutput;
    }

    private Process Launch(string file, string[] args, string logName)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in _env) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var log = new StreamWriter(Path.Combine(Directory, logName), append: true) { AutoFlush = true };
        var sync = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sync) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sync) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void KillPid(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            if (!p.WaitForExit(5000)) p.Kill();
        }
        catch (ArgumentException)
        {
            // already gone
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopNodeAsync();
        if (_epmd is { HasExited: false })
        {
            _epmd.Kill();
            await _epmd.WaitForExitAsync();
        }
        _epmd?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
