using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.State;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Bench.Controller;

/// <summary>
/// The real <c>trove-guest-controller</c> as a process (all roles), on SQLite, the given broker and the process compute
/// driver, as tests/…/EndToEnd/ControllerProcess starts it: secrets in the environment, never in the file or argv.
/// Disposing stops it (SIGTERM) and deletes every server it made that is still there, then checks that no loop device,
/// mount or process of its compute root is left.
/// </summary>
public sealed class ControllerUnderTest : IAsyncDisposable
{
    private const string AdminPassword = "bench-adm1n-pa55";
    private static readonly HttpClient Http = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("tgcb-").FullName;
    // Short: the engines' sockets live below it (sun_path holds 108 bytes).
    private readonly string _computeRoot = Path.Combine("/tmp", "tgb-" + Guid.NewGuid().ToString("N")[..6]);
    private readonly StringBuilder _log = new();
    private readonly string _agent;
    private Process? _process;
    private string _token = "";

    private readonly QemuSetup? _qemu;

    /// <summary>The qemu driver instead of the process one: the embedded image registry and the mariadb image registered in it.</summary>
    public sealed record QemuSetup(string ImagesDir, string ImageId);

    private ControllerUnderTest(string agent, QemuSetup? qemu)
    {
        _agent = agent;
        _qemu = qemu;
    }

    public string BaseUrl { get; private set; } = "";
    public string ProjectId { get; private set; } = "";
    public StateDatabase Database => StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));

    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static async Task<ControllerUnderTest> StartAsync(string controllerDll, string agent, string templates, string transportUrl, QemuSetup? qemu = null)
    {
        var controller = new ControllerUnderTest(agent, qemu);
        try
        {
            await controller.StartProcessAsync(controllerDll, templates, transportUrl);
            return controller;
        }
        catch
        {
            await controller.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessAsync(string controllerDll, string templates, string transportUrl)
    {
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        var config = Path.Combine(_dir, "controller.yaml");
        await File.WriteAllTextAsync(config, $"""
            api:
              listen: {BaseUrl}
            state:
              path: {Path.Combine(_dir, "state.sqlite")}
            bootstrap:
              project: bench
              user: admin
              password_env: TROVE_GUEST_ADMIN_PASSWORD
            flavors:
              - {"{"} id: "1", name: db.small, ram: 512, vcpus: 1, disk: 0 {"}"}
            datastores:
              - name: mariadb
                default_version: "10.11"
                versions:
                  - {"{"} name: "10.11", manager: mariadb{(_qemu is null ? "" : ", image: " + _qemu.ImageId)} {"}"}
            compute:
            {(_qemu is null ? $"  driver: process\n  agent_command: {_agent}" : $"  driver: qemu\n  images_dir: {_qemu.ImagesDir}\n  report_interval_seconds: 5")}
              root: {_computeRoot}
              templates_dir: {templates}
            guest:
              usage_timeout_seconds: 1200
            """);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(controllerDll);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(config);
        psi.Environment["TROVE_TRANSPORT_URL"] = transportUrl;
        psi.Environment["TROVE_GUEST_ADMIN_PASSWORD"] = AdminPassword;
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the controller exited with {_process.ExitCode}:\n{Log}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the controller's API did not answer in 60 s:\n{Log}");
            try
            {
                using var response = await Http.GetAsync(BaseUrl + "/v1.0");
                if (response.StatusCode == HttpStatusCode.Unauthorized) break;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        using var login = new HttpRequestMessage(HttpMethod.Get, $"{BaseUrl}/v1.0");
        login.Headers.Add("X-Auth-User", "admin");
        login.Headers.Add("X-Auth-Key", AdminPassword);
        using var answer = await Http.SendAsync(login);
        answer.EnsureSuccessStatusCode();
        _token = answer.Headers.GetValues("X-Auth-Token").Single();
        var management = answer.Headers.GetValues("X-Server-Management-Url").Single();
        ProjectId = management[(management.LastIndexOf('/') + 1)..];
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    /// <summary>One API call with the admin's token; the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> ApiAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, $"{BaseUrl}/v1.0/{ProjectId}{path}");
        request.Headers.Add("X-Auth-Token", _token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        var leftovers = await DeleteServersAsync();
        if (leftovers.Count > 0) Console.Error.WriteLine("left behind: " + string.Join("; ", leftovers));
        try
        {
            Directory.Delete(_dir, recursive: true);
            if (Directory.Exists(_computeRoot)) Directory.Delete(_computeRoot, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"removing the bench's directories failed: {e.Message}");
        }
    }

    /// <summary>SIGTERM (the controller gives its tasks back and stops), SIGKILL after 30 s.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        if (_process.HasExited)
        {
            _process.Dispose();
            _process = null;
            return;
        }
        await Cli.Wrap("kill").WithArguments(["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// The fallback the end-to-end tests use: the compute driver deletes every server the state still records (agent,
    /// engine, cgroup, mount, loop device, directory). Returns what is still there afterwards (nothing, normally).
    /// </summary>
    public async Task<List<string>> DeleteServersAsync()
    {
        IComputeDriver driver = _qemu is null
            ? new ProcessComputeDriver(new ProcessComputeOptions { AgentCommand = _agent, Root = _computeRoot, TemplatesDir = "" }, NullLogger<ProcessComputeDriver>.Instance)
            : new QemuComputeDriver(new QemuComputeOptions { Root = _computeRoot, Images = new LocalImageRegistry(_qemu.ImagesDir) }, NullLogger<QemuComputeDriver>.Instance);
        var problems = new List<string>();
        try
        {
            if (File.Exists(Path.Combine(_dir, "state.sqlite")))
            {
                foreach (var json in await new Trove.Guest.State.Instances.InstanceStore(Database).ServersAsync(CancellationToken.None))
                {
                    var server = ServerInfoJson.Deserialize(json);
                    if (Directory.Exists(server.Directory)) await driver.DeleteAsync(server, CancellationToken.None);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add($"deleting servers failed: {e.Message}");
        }
        problems.AddRange(await LeftoversAsync(_computeRoot));
        return problems;
    }

    /// <summary>Loop devices backed by, mounts under and processes naming <paramref name="root"/>.</summary>
    public static async Task<List<string>> LeftoversAsync(string root)
    {
        var found = new List<string>();
        var loops = await Cli.Wrap("losetup").WithArguments(["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        found.AddRange(loops.StandardOutput.Split('\n').Where(l => l.Contains(root, StringComparison.Ordinal)).Select(l => "loop " + l));
        found.AddRange(File.ReadAllLines("/proc/self/mounts").Where(l => l.Contains(root, StringComparison.Ordinal)).Select(l => "mount " + l));
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var argv = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                if (argv.Contains(root, StringComparison.Ordinal)) found.Add($"process {pid}: {argv}");
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    public string ComputeRoot => _computeRoot;
}
