using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.State;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.EndToEnd;

/// <summary>
/// The real <c>trove-guest-controller</c> executable, all roles in one process, on a private RabbitMQ and Swift, with the
/// process compute driver (real agents and MariaDB servers on loop-mounted volumes). It can be killed (SIGKILL, as a
/// crash) and started again on the same state. Disposing deletes every server it created, whatever state it is in.
/// </summary>
public sealed class ControllerProcess : IAsyncLifetime
{
    /// <summary>
    /// Another compute driver than the process one: its <c>compute:</c> section (<c>{root}</c> stands for the compute
    /// root), the datastore versions' lines, and the driver that deletes what is left at the end.
    /// </summary>
    public sealed record ComputeSetup(string ComputeYaml, string VersionsYaml, Func<string, IComputeDriver> CleanupDriver,
        IReadOnlyDictionary<string, string>? GuestSettings = null);

    public const string AdminPassword = "adm1n-pa55word";
    private static readonly HttpClient Http = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("tgc-e2e-").FullName;
    private readonly string _computeRoot;
    private Process? _process;
    private readonly StringBuilder _log = new();

    private readonly ComputeSetup _compute;

    public ControllerProcess()
        : this(null)
    {
    }

    /// <summary>A controller on another compute driver (xunit wants one public constructor on a fixture, hence a factory).</summary>
    public static ControllerProcess WithCompute(ComputeSetup compute) => new(compute);

    private ControllerProcess(ComputeSetup? compute)
    {
        _computeRoot = Path.Combine("/tmp", "tgi-" + Guid.NewGuid().ToString("N")[..6]);
        _compute = compute ?? new ComputeSetup($$"""
            compute:
              driver: process
              agent_command: {{Agent}}
              root: {root}
              templates_dir: {{Path.Combine(RepoPaths.Root, "templates")}}
            """, """
                  - { name: "10.11", manager: mariadb }
            """, root => new ProcessComputeDriver(new ProcessComputeOptions { AgentCommand = Agent, Root = root, TemplatesDir = "" },
                NullLogger<ProcessComputeDriver>.Instance));
    }

    /// <summary>Where the compute driver keeps its servers.</summary>
    public string ComputeRoot => _computeRoot;

    public RabbitMqBroker Broker { get; private set; } = null!;
    public SwiftService Swift { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public string ProjectId { get; private set; } = "";
    public string ConfigPath => Path.Combine(_dir, "controller.yaml");
    public StateDatabase Database => StateDatabase.Sqlite(Path.Combine(_dir, "state.sqlite"));

    /// <summary>What the controller logged so far (failures quote it).</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static string Executable => Path.Combine(RepoPaths.Root, "controller", "Trove.Guest.Controller", "bin", "Debug", "net10.0", "trove-guest-controller.dll");
    public static string Agent => Path.Combine(RepoPaths.Root, "agent", "Trove.Guest.Agent", "bin", "Debug", "net10.0", "trove-guest-agent");

    public async ValueTask InitializeAsync()
    {
        Broker = await RabbitMqBroker.StartAsync();
        Swift = await SwiftService.StartAsync();
        BaseUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        await File.WriteAllTextAsync(ConfigPath, $"""
            api:
              listen: {BaseUrl}
            state:
              path: {Path.Combine(_dir, "state.sqlite")}
            bootstrap:
              project: seed
              user: admin
              password_env: TROVE_GUEST_ADMIN_PASSWORD
            flavors:
              - {"{"} id: "1", name: db.small, ram: 512, vcpus: 1, disk: 0 {"}"}
              - {"{"} id: "2", name: db.medium, ram: 768, vcpus: 1, disk: 0 {"}"}
            datastores:
              - name: mariadb
                default_version: "10.11"
                versions:
            {_compute.VersionsYaml.TrimEnd()}
            {_compute.ComputeYaml.Replace("{root}", _computeRoot, StringComparison.Ordinal).TrimEnd()}
            object_store:
              auth_url: http://127.0.0.1:{Swift.Port}/auth/v1.0
              user: "test:tester"
              key_env: TROVE_GUEST_SWIFT_KEY
            worker:
              lease_seconds: 5
            guest:
              usage_timeout_seconds: {(_compute.GuestSettings?.GetValueOrDefault("usage_timeout_seconds") ?? "300")}
              heartbeat_expiry_seconds: {(_compute.GuestSettings?.GetValueOrDefault("heartbeat_expiry_seconds") ?? "20")}
            """);
        await StartAsync();
        ProjectId = (await LoginAsync()).ProjectId;
    }

    /// <summary>Starts the controller and waits until its API answers.</summary>
    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Executable);
        psi.ArgumentList.Add("--config");
        psi.ArgumentList.Add(ConfigPath);
        // Every secret through the environment, none in argv.
        psi.Environment["TROVE_TRANSPORT_URL"] = Broker.Url;
        psi.Environment["TROVE_GUEST_ADMIN_PASSWORD"] = AdminPassword;
        psi.Environment["TROVE_GUEST_SWIFT_KEY"] = "testing";
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the controller exited with {_process.ExitCode}:\n{Log}");
            try
            {
                using var response = await Http.GetAsync(BaseUrl + "/v1.0");
                if (response.StatusCode == HttpStatusCode.Unauthorized) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the controller's API did not answer in 60 s:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    /// <summary>Kills the controller as a crash would (SIGKILL): no task is given back, no connection closed cleanly.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
        Append("----- killed -----");
    }

    public async Task<(string Token, string ProjectId)> LoginAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{BaseUrl}/v1.0");
        request.Headers.Add("X-Auth-User", "admin");
        request.Headers.Add("X-Auth-Key", AdminPassword);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var management = response.Headers.GetValues("X-Server-Management-Url").Single();
        return (response.Headers.GetValues("X-Auth-Token").Single(), management[(management.LastIndexOf('/') + 1)..]);
    }

    /// <summary>The real <c>trove</c> command against this controller; the password comes through the environment.</summary>
    public Task<BufferedCommandResult> TroveAsync(params string[] command) =>
        CliWrap.Cli.Wrap("/usr/bin/trove")
            .WithArguments(["--os-auth-url", $"{BaseUrl}/v1.0", "--bypass-url", $"{BaseUrl}/v1.0/{ProjectId}", "--os-username", "admin",
                "--os-project-name", "seed", .. command])
            .WithEnvironmentVariables(e => e.Set("OS_PASSWORD", AdminPassword).Set("OS_AUTH_URL", null).Set("OS_USERNAME", null).Set("OS_CLOUD", null))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    /// <summary><c>trove</c>'s output with python3-troveclient's b'...' cells unquoted.</summary>
    public static string Unquoted(string output) => System.Text.RegularExpressions.Regex.Replace(output, "b'([^']*)'", "$1");

    /// <summary>One call to the API with a fresh token; the body parsed.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body)> ApiAsync(HttpMethod method, string path, string? body = null)
    {
        var (token, _) = await LoginAsync();
        using var request = new HttpRequestMessage(method, $"{BaseUrl}/v1.0/{ProjectId}{path}");
        request.Headers.Add("X-Auth-Token", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>
    /// <c>POST /instances</c> on flavor 1 with a 1 GB volume, as the trove client sends it (extra members of the
    /// <c>instance</c> object: databases, users...); the new instance's id.
    /// </summary>
    public async Task<string> CreateInstanceAsync(string name, JsonObject? extra = null)
    {
        var instance = new JsonObject { ["name"] = name, ["flavorRef"] = "1", ["volume"] = new JsonObject { ["size"] = 1 } };
        foreach (var (key, value) in extra ?? []) instance[key] = value?.DeepClone();
        var (status, body) = await ApiAsync(HttpMethod.Post, "/instances", new JsonObject { ["instance"] = instance }.ToJsonString());
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"create {name}: {status} {body?.ToJsonString()}");
        return body!["instance"]!["id"]!.GetValue<string>();
    }

    public async Task<JsonObject> InstanceAsync(string id)
    {
        var (status, body) = await ApiAsync(HttpMethod.Get, $"/instances/{id}");
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"show {id}: {status} {body?.ToJsonString()}");
        return body!["instance"]!.AsObject();
    }

    /// <summary>Waits until the instance's status (and operating status) settle to the expected ones; fails early on ERROR.</summary>
    public async Task<JsonObject> WaitForInstanceAsync(string id, string status = "ACTIVE", string? operating = "HEALTHY", int seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        JsonObject instance = [];
        while (DateTime.UtcNow < deadline)
        {
            instance = await InstanceAsync(id);
            var s = instance["status"]!.GetValue<string>();
            var o = instance["operating_status"]?.GetValue<string>();
            if (s == status && (operating is null || o == operating)) return instance;
            if (s == "ERROR" && status != "ERROR") throw new InvalidOperationException($"{id} went to ERROR: {instance.ToJsonString()}\n{Log}");
            await Task.Delay(500);
        }
        throw new TimeoutException($"{id} did not reach {status}/{operating} in {seconds} s: {instance.ToJsonString()}\n{Log}");
    }

    public async Task<JsonObject> WaitForBackupAsync(string id, int seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        JsonNode? backup = null;
        while (DateTime.UtcNow < deadline)
        {
            (_, var body) = await ApiAsync(HttpMethod.Get, $"/backups/{id}");
            backup = body?["backup"];
            var state = backup?["status"]?.GetValue<string>();
            if (state == "COMPLETED") return backup!.AsObject();
            if (state is "FAILED" or "DELETE_FAILED") throw new InvalidOperationException($"backup {id} {state}: {backup!.ToJsonString()}\n{Log}");
            await Task.Delay(500);
        }
        throw new TimeoutException($"backup {id} did not complete in {seconds} s: {backup?.ToJsonString()}\n{Log}");
    }

    /// <summary>The instance's server as the controller recorded it.</summary>
    public async Task<ServerInfo?> ServerAsync(string id) =>
        await new InstanceStore(Database).GetAsync(id, null, CancellationToken.None) is { ComputeJson: { } json } ? ServerInfoJson.Deserialize(json) : null;

    /// <summary>SQL as root over the instance's engine socket.</summary>
    public async Task<string> SqlAsync(string instanceId, string sql)
    {
        var server = await ServerAsync(instanceId) ?? throw new InvalidOperationException($"{instanceId} has no server");
        return await MariaDbShell.RunAsync(ProcessComputeDriver.LayoutOf(server).EngineSocket, sql);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        // Every server this controller made goes, whatever its instance's state: no agent, engine, mount or loop device is left.
        var driver = _compute.CleanupDriver(_computeRoot);
        try
        {
            foreach (var json in await new InstanceStore(Database).ServersAsync(CancellationToken.None))
                await driver.DeleteAsync(ServerInfoJson.Deserialize(json), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"cleaning up the servers failed: {e.Message}");
        }
        await Swift.DisposeAsync();
        await Broker.DisposeAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
            if (Directory.Exists(_computeRoot)) Directory.Delete(_computeRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
