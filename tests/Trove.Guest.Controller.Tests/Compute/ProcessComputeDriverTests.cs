using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Guests;
using Trove.Guest.Testing;

namespace Trove.Guest.Controller.Tests.Compute;

/// <summary>
/// The <c>process</c> compute driver with the real agent executable, a real MariaDB (the agent's child) and a private
/// RabbitMQ: the control plane drives the guest it made through <see cref="GuestClient"/>, as the task flows will.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ProcessComputeDriverTests : IClassFixture<BrokerFixture>, IAsyncDisposable
{
    private const string Exchange = "trove";
    private static readonly string Agent = Path.Combine(RepoPaths.Root, "agent", "Trove.Guest.Agent", "bin", "Debug", "net10.0", "trove-guest-agent");

    // Short: the engine's socket lives in Root/<id8>/ (unix socket paths are limited to 107 bytes).
    private readonly string _root = Path.Combine("/tmp", "tgcd-" + Guid.NewGuid().ToString("N")[..6]);
    private readonly TestLogger _log = new();
    private readonly ILoggerFactory _loggers;
    private readonly List<ServerInfo> _servers = [];
    private readonly BrokerFixture _broker;

    public ProcessComputeDriverTests(BrokerFixture broker)
    {
        _broker = broker;
        _loggers = LoggerFactory.Create(b => b.AddProvider(new TestLoggerProvider(_log)));
    }

    private ProcessComputeDriver NewDriver(string? agent = null, TimeSpan? startupGrace = null) => new(new ProcessComputeOptions
    {
        AgentCommand = agent ?? Agent,
        Root = _root,
        TemplatesDir = Path.Combine(RepoPaths.Root, "templates"),
        AllocatePort = () => FreePorts.Find(),
        StartupGrace = startupGrace ?? TimeSpan.FromSeconds(2),
    }, _loggers.CreateLogger<ProcessComputeDriver>());

    private static ServerRequest Request(string id, string url, string conductorTopic, string? key, int ramMb = 512,
        IReadOnlyDictionary<string, string>? extra = null) =>
        new(id, "mariadb", "10.11", ramMb, 1, 1, key, url, Exchange, conductorTopic, extra);

    [Fact]
    public async Task A_server_is_prepared_grows_survives_its_controller_and_a_killed_agent_and_is_deleted_without_trace()
    {
        var ct = TestContext.Current.CancellationToken;
        var id = Guid.NewGuid().ToString();
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        var conductorTopic = BrokerFixture.NewTopic("conductor");
        await using var conductor = await TestConductor.StartAsync(_broker.Url, Exchange, conductorTopic,
            new ConductorHostSerializer(i => i == id ? new TroveCbcCipher(key) : null));
        var driver = NewDriver();

        var server = await driver.CreateAsync(Request(id, _broker.Url, conductorTopic, key), ct);
        _servers.Add(server);
        var layout = ProcessComputeDriver.LayoutOf(server);
        var firstPid = server.AgentPid!.Value;
        (await driver.IsRunningAsync(server, ct)).Should().BeTrue();
        (await File.ReadAllTextAsync(layout.AgentPidFile, ct)).Should().Be(firstPid.ToString());
        // Detached: a session of its own, nothing of the controller's on stdin/stdout, so it outlives the controller.
        Stat(firstPid)[3].Should().Be(firstPid.ToString(), "the agent leads a session of its own (field 6 of /proc/PID/stat)");
        ReadLink($"/proc/{firstPid}/fd/0").Should().Be("/dev/null");
        ReadLink($"/proc/{firstPid}/fd/1").Should().Be(layout.AgentLog);
        // Secrets: in files only the owner reads, never in an argv.
        File.GetUnixFileMode(layout.AgentConfigFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.GetUnixFileMode(layout.GuestInfoFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        (await File.ReadAllTextAsync($"/proc/{firstPid}/cmdline", ct)).Should().NotContain(key).And.NotContain("guest:guest");
        ServerInfoJson.Deserialize(ServerInfoJson.Serialize(server)).Should().Be(server);

        // The control plane prepares it on the volume the driver made.
        var rpc = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = _broker.Url, Exchange = Exchange }, cancellationToken: ct);
        var guest = new GuestClients(rpc, new GuestTimeouts { Low = TimeSpan.FromSeconds(2) }).For(id, key);
        await WaitForPingAsync(guest, layout, ct);
        await guest.PrepareAsync(PrepareArguments(server), null, ct);
        (await conductor.WaitForStatusAsync("healthy", TimeSpan.FromSeconds(120))).Should().BeTrue(
            $"prepare ends healthy (statuses: {string.Join(", ", conductor.Statuses)}); agent.log:\n{Tail(layout.AgentLog)}");

        (await File.ReadAllTextAsync("/proc/self/mounts", ct)).Should().Contain($"{server.DevicePath} {server.MountPoint} ext4 ");
        DeviceBytes(server.DevicePath!).Should().Be(1L << 30);
        (await FreePorts.AcceptsAsync(server.EnginePort)).Should().BeTrue("the engine listens on its port");
        if (ProcessComputeDriver.MemoryCgroupOf(server) is { } memoryGroup)
            (await File.ReadAllTextAsync(Path.Combine(memoryGroup, "cgroup.procs"), ct)).Split('\n')
                .Should().Contain((await File.ReadAllTextAsync(layout.EnginePidFile, ct)).Trim(), "the engine is inside the flavor's memory limit too");
        await SqlAsync(layout, "CREATE DATABASE kept; CREATE TABLE kept.t (v INT); INSERT INTO kept.t VALUES (42);");

        // Trove's offline volume resize (online resize2fs needs CAP_SYS_RESOURCE, which this sandbox lacks): stop_db,
        // unmount_volume, the driver grows the device, resize_fs grows the file system, mount_volume, restart.
        var before = new DriveInfo(server.MountPoint).TotalSize;
        var volumeArgs = new JsonObject { ["device_path"] = server.DevicePath, ["mount_point"] = server.MountPoint };
        await guest.StopDbAsync(ct);
        await CallGuestAsync(rpc, id, key, "unmount_volume", volumeArgs, ct);
        server = await driver.ResizeVolumeAsync(server, 2, ct);
        server.VolumeSizeGb.Should().Be(2);
        DeviceBytes(server.DevicePath!).Should().Be(2L << 30);
        await guest.ResizeFsAsync(server.DevicePath, server.MountPoint, online: false, ct);
        await CallGuestAsync(rpc, id, key, "mount_volume", volumeArgs, ct);
        await guest.RestartAsync(ct);
        new DriveInfo(server.MountPoint).TotalSize.Should().BeGreaterThan(before * 18 / 10);
        (await SqlAsync(layout, "SELECT v FROM kept.t")).Should().Be("42");

        // The controller goes away (its RPC connection and its driver) and comes back: the guest never noticed.
        await rpc.DisposeAsync();
        var restarted = NewDriver();
        (await restarted.EnsureRunningAsync(ServerInfoJson.Deserialize(ServerInfoJson.Serialize(server)), ct)).AgentPid.Should().Be(firstPid);
        await using var rpc2 = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = _broker.Url, Exchange = Exchange }, cancellationToken: ct);
        guest = new GuestClients(rpc2, new GuestTimeouts { Low = TimeSpan.FromSeconds(5) }).For(id, key);
        (await guest.PingAsync(ct)).Should().BeTrue();

        // A killed agent (its engine outlives it, in a session of its own) is started again; the data is still there.
        var oldEngine = int.Parse(await File.ReadAllTextAsync(layout.EnginePidFile, ct));
        HostSignal(firstPid, "KILL");
        await WaitAsync(async () => !await restarted.IsRunningAsync(server, ct), "the killed agent to be gone");
        var heartbeats = conductor.Statuses.Count;
        server = await restarted.EnsureRunningAsync(server, ct);
        server.AgentPid.Should().NotBe(firstPid);
        (await restarted.IsRunningAsync(server, ct)).Should().BeTrue();
        (await conductor.WaitForStatusAsync("healthy", TimeSpan.FromSeconds(60), heartbeats)).Should().BeTrue(
            $"the restarted agent starts its engine again; agent.log:\n{Tail(layout.AgentLog)}");
        File.Exists($"/proc/{oldEngine}/cmdline").Should().BeFalse("the old engine was stopped before the agent started again");
        _log.Lines.Should().Contain(l => l.Contains($"stopping engine {oldEngine}, which outlived its agent"));
        (await SqlAsync(layout, "SELECT v FROM kept.t")).Should().Be("42");

        // Delete: no process, no mount, no loop device, no cgroup, no directory; and again, for nothing.
        var engine = int.Parse(await File.ReadAllTextAsync(layout.EnginePidFile, ct));
        var group = ProcessComputeDriver.MemoryCgroupOf(server);
        await restarted.DeleteAsync(server, ct);
        await AssertGoneAsync(server, [server.AgentPid!.Value, engine], group);
        await restarted.DeleteAsync(server, ct);
        _servers.RemoveAll(s => s.InstanceId == server.InstanceId);
    }

    [Fact]
    public async Task Flavor_memory_is_a_cgroup_limit_changed_in_place_and_extra_settings_reach_the_agent()
    {
        var ct = TestContext.Current.CancellationToken;
        var driver = NewDriver();
        var extra = new Dictionary<string, string> { ["DEFAULT.storage_strategy"] = "local", ["trove_guest.backup_local_dir"] = _root + "/backups" };
        var server = await driver.CreateAsync(Request(Guid.NewGuid().ToString(), _broker.Url, "conductor-unused", null, 512, extra), ct);
        _servers.Add(server);
        var config = await File.ReadAllTextAsync(ProcessComputeDriver.LayoutOf(server).AgentConfigFile, ct);
        config.Should().Contain("storage_strategy = local").And.Contain($"backup_local_dir = {_root}/backups").And.Contain("engine_user = root");

        // This host (Debian 12 here) has a cgroup v1 memory hierarchy we may make groups in; a host without any would
        // run unlimited, which the driver logs.
        var group = ProcessComputeDriver.MemoryCgroupOf(server);
        if (group is null)
        {
            _log.Lines.Should().Contain(l => l.Contains("memory limits are not enforced"));
        }
        else
        {
            (await File.ReadAllTextAsync(Path.Combine(group, "cgroup.procs"), ct)).Split('\n').Should().Contain(server.AgentPid.ToString());
            Limit(group).Should().Be((512 + 128L) << 20);
        }

        var resized = await driver.ResizeFlavorAsync(server, 1024, 2, ct);
        resized.RamMb.Should().Be(1024);
        resized.AgentPid.Should().Be(server.AgentPid, "a larger limit applies in place");
        if (group is not null) Limit(group).Should().Be((1024 + 128L) << 20);

        await driver.DeleteAsync(resized, ct);
        await AssertGoneAsync(resized, [resized.AgentPid!.Value], group);
        _servers.RemoveAll(s => s.InstanceId == server.InstanceId);
    }

    [Fact]
    public async Task A_create_that_cannot_start_the_agent_fails_clearly_and_leaves_nothing_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        var missing = Path.Combine(_root, "no-such-agent");
        var act = () => CreateExpectingFailureAsync(NewDriver(missing), Request(Guid.NewGuid().ToString(), _broker.Url, "c", null), ct);
        (await act.Should().ThrowAsync<ComputeDriverException>()).Which.Message.Should().Contain(missing).And.Contain("does not exist");
        Directory.Exists(_root).Should().BeFalse("nothing was made for a create that could not start");

        // The agent starts and stops at once on a bad setting: its own message comes back, and the volume, the loop
        // device and the directory made before are gone again.
        var id = Guid.NewGuid().ToString();
        var bad = new Dictionary<string, string> { ["DEFAULT.report_interval"] = "often" };
        // A long grace: this machine's load must not let the agent's exit come after create has returned.
        act = () => CreateExpectingFailureAsync(NewDriver(startupGrace: TimeSpan.FromSeconds(20)), Request(id, _broker.Url, "c", null, extra: bad), ct);
        (await act.Should().ThrowAsync<ComputeDriverException>()).Which.Message.Should().Contain("code 78").And.Contain("report_interval");
        Directory.EnumerateFileSystemEntries(_root).Should().BeEmpty();
        (await LoopListingAsync()).Should().NotContain(_root);
    }

    /// <summary>A create that should fail; should it succeed, its server is still cleaned up after the test.</summary>
    private async Task CreateExpectingFailureAsync(ProcessComputeDriver driver, ServerRequest request, CancellationToken ct) =>
        _servers.Add(await driver.CreateAsync(request, ct));

    private static JsonObject PrepareArguments(ServerInfo server) => new()
    {
        ["packages"] = new JsonArray(),
        ["databases"] = new JsonArray(),
        ["memory_mb"] = server.RamMb,
        ["users"] = new JsonArray(),
        ["device_path"] = server.DevicePath,
        ["mount_point"] = server.MountPoint,
        ["backup_info"] = null,
        // No my.cnf from the control plane: the agent renders its template for the flavor.
        ["config_contents"] = null,
        ["root_password"] = null,
        ["overrides"] = null,
        ["cluster_config"] = null,
        ["snapshot"] = null,
        ["modules"] = null,
        ["ds_version"] = "10.11",
    };

    /// <summary>The agent answers once it consumes from its topic; a cast sent before would be lost (no queue yet).</summary>
    private static async Task WaitForPingAsync(GuestClient guest, ProcessServerLayout layout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await guest.PingAsync(ct)) return;
            }
            catch (MessagingTimeoutException)
            {
            }
        }
        throw new TimeoutException($"the agent did not answer rpc_ping in 60 s; agent.log:\n{Tail(layout.AgentLog)}");
    }

    /// <summary>A guest method <see cref="GuestClient"/> does not have yet (Trove's mount_volume and unmount_volume).</summary>
    private static Task<JsonNode?> CallGuestAsync(RpcClient rpc, string id, string key, string method, JsonObject args, CancellationToken ct) =>
        rpc.CallAsync(new RpcTarget($"guestagent.{id}", Version: "1.0"), method, (JsonObject)args.DeepClone(),
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60), Serializer = SecureSerializer.ForTroveKey(key) }, ct);

    private async Task AssertGoneAsync(ServerInfo server, int[] pids, string? group)
    {
        foreach (var pid in pids) File.Exists($"/proc/{pid}/cmdline").Should().BeFalse($"process {pid} is gone");
        (await File.ReadAllTextAsync("/proc/self/mounts")).Should().NotContain(server.MountPoint);
        (await LoopListingAsync()).Should().NotContain(server.Directory);
        Directory.Exists(server.Directory).Should().BeFalse();
        if (group is not null) Directory.Exists(group).Should().BeFalse("the memory cgroup is removed");
        _log.Lines.Should().NotContain(l => l.Contains("leftover process"), "the agent stopped its engine, and nothing else was left");
    }

    private static async Task<string> LoopListingAsync() =>
        (await CliWrap.Cli.Wrap("losetup").WithArguments(["--list", "--noheadings", "--output", "NAME,BACK-FILE"]).ExecuteBufferedAsync()).StandardOutput;

    private static Task<string> SqlAsync(ProcessServerLayout layout, string sql) => MariaDbShell.RunAsync(layout.EngineSocket, sql);

    private static long DeviceBytes(string device) => long.Parse(File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/size").Trim()) * 512;

    private static long Limit(string group) =>
        long.Parse(File.ReadAllText(Path.Combine(group, File.Exists(Path.Combine(group, "memory.max")) ? "memory.max" : "memory.limit_in_bytes")).Trim());

    /// <summary>/proc/PID/stat's fields after "(comm)": state, ppid, pgrp, session...</summary>
    private static string[] Stat(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static string? ReadLink(string path) => new FileInfo(path).LinkTarget;

    private static void HostSignal(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString()])!;
        kill.WaitForExit();
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 30 s for {what}");
            await Task.Delay(50);
        }
    }

    private static string Tail(string log) => File.Exists(log) ? string.Join("\n", File.ReadLines(log).TakeLast(40)) : "(no agent.log)";

    public async ValueTask DisposeAsync()
    {
        // A failed test still takes its servers down (processes, mounts, loop devices).
        foreach (var server in _servers)
        {
            try
            {
                await NewDriver().DeleteAsync(server, CancellationToken.None);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"cleanup of {server.Directory} failed: {e.Message}");
            }
        }
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        _loggers.Dispose();
    }
}
