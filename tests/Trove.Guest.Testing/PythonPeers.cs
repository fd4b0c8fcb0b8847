using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>The real oslo.messaging reference client (<c>../shared/interop/oslo_rpc_client.py</c>), one process per run.</summary>
public static class PythonRpcClient
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout.Trim();
    }

    public static async Task<Result> RunAsync(string url, string topic, params string[] args)
    {
        string[] all = [RepoPaths.Interop("oslo_rpc_client.py"), "--url", url, "--topic", topic, "--exchange", "trove", .. args];
        return await RunScriptAsync(all);
    }

    /// <summary>Runs a Python script with Debian's interpreter and returns its output.</summary>
    public static async Task<Result> RunScriptAsync(string[] args, TimeSpan? limit = null)
    {
        using var cts = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(120));
        var r = await CliWrap.Cli.Wrap(RepoPaths.Python).WithArguments(args).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(cts.Token);
        return new Result(r.ExitCode, r.StandardOutput, r.StandardError);
    }
}

/// <summary>The real oslo.messaging reference server (<c>../shared/interop/oslo_rpc_server.py</c>).</summary>
public sealed class PythonRpcServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();

    private PythonRpcServer(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lock) _lines.Add(e.Data);
            if (e.Data == "READY") _ready.TrySetResult();
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lock) _lines.Add("ERR " + e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines
    {
        get { lock (_lock) return _lines.ToList(); }
    }

    public static Task<PythonRpcServer> StartAsync(string url, string topic, string server, params string[] extra) =>
        StartScriptAsync([RepoPaths.Interop("oslo_rpc_server.py"), "--url", url, "--topic", topic, "--server", server,
            "--exchange", "trove", "--log-calls", .. extra]);

    /// <summary>Starts a Python script that prints READY once it listens.</summary>
    public static async Task<PythonRpcServer> StartScriptAsync(string[] args)
    {
        var psi = new ProcessStartInfo(RepoPaths.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var server = new PythonRpcServer(Process.Start(psi)!);
        var ready = await Task.WhenAny(server._ready.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        if (ready != server._ready.Task)
        {
            await server.DisposeAsync();
            throw new TimeoutException("python peer not READY: " + string.Join("\n", server.Lines));
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the reference server stops cleanly and deletes its fanout queue.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
