using System.Diagnostics;
using System.Globalization;
using System.Net;
using Trove.Guest.Controller.Configuration;

namespace Trove.Guest.Cli.KickStart;

/// <summary>How kick-start found the controller: already answering, or started by it (its PID and log).</summary>
internal sealed record ControllerStart(Uri Url, bool AlreadyRunning, int? Pid, string? Log);

/// <summary>
/// Makes sure <c>trove-guest-controller</c> serves the configuration's <c>api.listen</c>: a controller that answers there is
/// used as it is (it reads datastores from its database on every request, so kick-start's registration needs no
/// restart); otherwise the controller built beside this CLI is started detached (its own session, stdin from
/// /dev/null, output appended to <c>controller.log</c> beside the state database), and kick-start waits until its API
/// answers <c>GET /v1.0</c> with 401, as an unauthenticated request gets.
/// </summary>
internal sealed class ControllerLauncher(ControllerConfig config, string configPath, Func<string, string?> variable)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    // A controller under a systemd unit would log to the journal: this one's output is meant for controller.log.
    private static readonly string[] JournalVariables = ["JOURNAL_STREAM", "INVOCATION_ID"];

    public Uri Url { get; } = new(config.Api.Listen.TrimEnd('/') + "/v1.0");

    public async Task<ControllerStart> EnsureRunningAsync(SourceTree? tree, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = ProbeTimeout, UseCookies = false }) { Timeout = ProbeTimeout };
        if (await ProbeAsync(http, ct).ConfigureAwait(false) is { } answer)
        {
            return answer == HttpStatusCode.Unauthorized
                ? new ControllerStart(Url, true, null, null)
                : throw new CliFailure(ExitCodes.Unreachable,
                    $"ERROR: {Url} answers HTTP {(int)answer}, not as trove-guest-controller does (401 without a token): is api.listen another service's?");
        }
        var assembly = tree?.ControllerAssembly
            ?? throw new CliFailure(ExitCodes.ApiRefused,
                $"ERROR: no controller answers at {Url}, and this trove-guest runs outside its repository, so it has none to start: "
                + $"start trove-guest-controller --config {configPath} first");
        if (!File.Exists(assembly))
            throw new CliFailure(ExitCodes.ApiRefused,
                $"ERROR: no controller answers at {Url}, and {assembly} does not exist: build it first (dotnet build controller/Trove.Guest.Controller -c {SourceTree.BuildConfiguration})");

        var stateDir = Path.GetDirectoryName(Path.GetFullPath(config.State.Path))!;
        Directory.CreateDirectory(stateDir);
        var log = Path.Combine(stateDir, "controller.log");
        var logStart = File.Exists(log) ? new FileInfo(log).Length : 0;
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        // exec keeps the PID through sh, setsid (which does not fork: sh leads no process group) and dotnet. The argv
        // holds paths only: the secrets the configuration names travel in the environment.
        foreach (var arg in new[] { "-c", "exec setsid \"$2\" \"$3\" --config \"$4\" </dev/null >>\"$1\" 2>&1", "trove-guest-kick-start", log, "dotnet", assembly,
                     Path.GetFullPath(configPath) })
            psi.ArgumentList.Add(arg);
        foreach (var name in NamedVariables())
        {
            if (variable(name) is { Length: > 0 } value) psi.Environment[name] = value;
        }
        foreach (var name in JournalVariables) psi.Environment.Remove(name);

        using var process = Process.Start(psi) ?? throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: cannot start {assembly}");
        var pid = process.Id;
        await File.WriteAllTextAsync(Path.Combine(stateDir, "controller.pid"), pid.ToString(CultureInfo.InvariantCulture) + "\n", ct).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new CliFailure(ExitCodes.ApiRefused,
                    $"ERROR: trove-guest-controller (pid {pid}) exited with code {process.ExitCode} before its API answered; {log} says:\n{Tail(log, logStart)}");
            if (await ProbeAsync(http, ct).ConfigureAwait(false) == HttpStatusCode.Unauthorized) return new ControllerStart(Url, false, pid, log);
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
        throw new CliFailure(ExitCodes.Unreachable,
            $"ERROR: trove-guest-controller (pid {pid}, still running) did not answer at {Url} within {StartTimeout.TotalSeconds:0} s; {log} says:\n{Tail(log, logStart)}");
    }

    /// <summary>
    /// The variables the configuration names for its secrets. They are taken from the CLI's environment (the process's,
    /// except under tests), so that the controller gets what kick-start itself was given.
    /// </summary>
    public IEnumerable<string> NamedVariables()
    {
        yield return config.Messaging.TransportUrlEnv;
        if (config.Bootstrap is { } bootstrap) yield return bootstrap.PasswordEnv;
        if (config.State.PasswordEnv is { } statePassword) yield return statePassword;
        if (config.ObjectStore is { } objectStore) yield return objectStore.KeyEnv;
    }

    /// <summary>The status of <c>GET /v1.0</c>; null when nothing answers.</summary>
    private async Task<HttpStatusCode?> ProbeAsync(HttpClient http, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(Url, ct).ConfigureAwait(false);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>What the log got since <paramref name="from"/>, its last 40 lines.</summary>
    private static string Tail(string log, long from)
    {
        try
        {
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', lines.TakeLast(40));
        }
        catch (IOException e)
        {
            return $"(cannot read it: {e.Message})";
        }
    }
}
