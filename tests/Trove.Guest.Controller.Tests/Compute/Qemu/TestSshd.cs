using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;

namespace Trove.Guest.Controller.Tests.Compute.Qemu;

/// <summary>
/// A real OpenSSH server (<c>/usr/sbin/sshd -D -e -f CONFIG</c>) with a configuration of its own: loopback only, the
/// given ports, host keys and authorized keys file, root by key only. Its last port, when <paramref name="echoPort"/> is
/// set, runs no command but prints the command it was asked to run (<c>ForceCommand</c> with <c>$SSH_ORIGINAL_COMMAND</c>),
/// so that a test sees exactly what a client sent. Stopped by its PID.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TestSshd : IAsyncDisposable
{
    private const string Binary = "/usr/sbin/sshd";
    private readonly Process _process;
    private readonly StringBuilder _log;

    private TestSshd(Process process, StringBuilder log)
    {
        _process = process;
        _log = log;
    }

    /// <summary>What sshd logged on stderr so far (connections, refusals).</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static async Task<TestSshd> StartAsync(string directory, string name, int port, IReadOnlyList<string> hostKeys, string authorizedKeysFile,
        int? echoPort = null)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: apt-get install openssh-server (.ci/setup installs it)");
        // sshd's privilege separation chroots into /run/sshd, which only its service unit creates.
        Directory.CreateDirectory("/run/sshd");
        var config = Path.Combine(directory, $"{name}.conf");
        var text = new StringBuilder()
            .AppendLine("ListenAddress 127.0.0.1")
            .AppendLine($"Port {port}");
        if (echoPort is { } echo) text.AppendLine($"Port {echo}");
        foreach (var key in hostKeys) text.AppendLine($"HostKey {key}");
        text.AppendLine($"AuthorizedKeysFile {authorizedKeysFile}")
            .AppendLine("PermitRootLogin prohibit-password")
            .AppendLine("PubkeyAuthentication yes")
            .AppendLine("PasswordAuthentication no")
            .AppendLine("KbdInteractiveAuthentication no")
            .AppendLine($"PidFile {Path.Combine(directory, $"{name}.pid")}")
            .AppendLine("StrictModes no")
            .AppendLine("UsePAM no")
            .AppendLine("LogLevel VERBOSE");
        if (echoPort is { } forced)
            text.AppendLine($"Match LocalPort {forced}").AppendLine("    ForceCommand printf '%s\\n' \"$SSH_ORIGINAL_COMMAND\"");
        await File.WriteAllTextAsync(config, text.ToString());

        var log = new StringBuilder();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = new HashSet<int> { port };
        if (echoPort is { } second) expected.Add(second);
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(Binary) { ArgumentList = { "-D", "-e", "-f", config }, RedirectStandardError = true, RedirectStandardOutput = true },
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log)
            {
                log.AppendLine(e.Data);
                foreach (var p in expected.ToList())
                    if (e.Data.Contains($"Server listening on 127.0.0.1 port {p}.", StringComparison.Ordinal)) expected.Remove(p);
                if (expected.Count == 0) listening.TrySetResult();
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new TestSshd(process, log);
        var started = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(20)));
        if (started != listening.Task)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"sshd did not start listening on {port}:\n{server.Log}");
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
