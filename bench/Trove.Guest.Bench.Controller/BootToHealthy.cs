using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CliWrap;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute.Qemu;
using Trove.Guest.Testing;

namespace Trove.Guest.Bench.Controller;

/// <summary>
/// Boot benchmark (<c>bench/guest-boot.sh</c>): our mariadb image under qemu (TCG here), one run after the other:
/// <list type="bullet">
/// <item>bare: the same image booted by qemu with the same machine (1 vCPU, the flavor's memory, BIOS, virtio disks and
/// NIC, restricted user networking) and a config drive holding only an SSH key (no control plane files: the agent keeps
/// restarting, and multi-user.target does not wait for it since its unit has no default dependencies). Timed from qemu's start to systemd's activation of
/// multi-user.target: the kernel's start on the host clock (the earliest "printed minus printk time" of its console
/// lines) plus <c>ActiveEnterTimestampMonotonic</c> of multi-user.target, read over SSH (the serial console stops showing
/// systemd's status once its getty runs, so the console cannot tell);</item>
/// <item>ours: <c>POST /instances</c> on the real controller with the qemu driver, timed to the guest's first heartbeat
/// in the state store and to the first show answering ACTIVE/HEALTHY (prepare done: volume formatted, MariaDB's datadir
/// in place and started, users created).</item>
/// </list>
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class BootToHealthy(ControllerUnderTest controller, string image, int ramMb, Action<JsonObject> report)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(15);

    public async Task<double> BareAsync(int run)
    {
        var dir = Directory.CreateTempSubdirectory("tgb-bare-").FullName;
        var console = Path.Combine(dir, "console.log");
        var overlay = Path.Combine(dir, "boot.qcow2");
        var drive = Path.Combine(dir, "config.img");
        try
        {
            var key = await DeploymentKeys.EnsureAsync(dir, CancellationToken.None);
            await ConfigDrive.WriteAsync(drive, Guid.NewGuid().ToString(), "bare", new Dictionary<string, string> { ["bench"] = key }, [], CancellationToken.None);
            await Cli.Wrap("qemu-img").WithArguments(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, overlay]).ExecuteAsync();
            var sshPort = FreePorts.Find();
            using var stop = new CancellationTokenSource(Limit);
            var clock = Stopwatch.StartNew();
            var qemu = Cli.Wrap("qemu-system-x86_64").WithArguments([
                "-accel", "tcg", "-m", ramMb.ToString(CultureInfo.InvariantCulture), "-smp", "1", "-display", "none", "-vga", "none",
                "-serial", $"file:{console}", "-drive", $"file={overlay},format=qcow2,if=virtio",
                "-drive", $"file={drive},format=raw,if=virtio,readonly=on",
                "-netdev", $"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{sshPort}-:22", "-device", "virtio-net-pci,netdev=net0"])
                .WithValidation(CommandResultValidation.None).ExecuteAsync(stop.Token);
            try
            {
                // The kernel's start on the host clock, and the host key the guest prints (pinned, as the driver does).
                var kernelStart = double.PositiveInfinity;
                IReadOnlyList<string> hostKeys = [];
                while (hostKeys.Count == 0)
                {
                    if (qemu.Task.IsCompleted || clock.Elapsed > Limit) throw new InvalidOperationException($"bare {run}: no host key on the console");
                    var now = clock.Elapsed.TotalSeconds;
                    var text = File.Exists(console) ? ReadShared(console) : "";
                    foreach (Match m in PrintkTime().Matches(text))
                        kernelStart = Math.Min(kernelStart, now - double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                    hostKeys = ConsoleHostKeys.First(text);
                    await Task.Delay(50);
                }
                var shell = new GuestShell(new QemuGuestAccess(sshPort, 0, hostKeys), QemuServerLayout.DeploymentKey(dir));
                double reached = 0;
                while (reached <= 0)
                {
                    if (clock.Elapsed > Limit) throw new TimeoutException($"bare {run}: multi-user.target not active in {Limit}");
                    var shown = await shell.RunAsync("systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target",
                        DateTimeOffset.UtcNow.Add(Limit - clock.Elapsed), CancellationToken.None);
                    reached = long.TryParse(shown.StandardOutput.Trim(), out var us) ? us / 1e6 : 0;
                    if (reached <= 0) await Task.Delay(500);
                }
                var seconds = kernelStart + reached;
                report(new JsonObject
                {
                    ["part"] = "boot", ["run"] = $"bare {run}: qemu start to multi-user.target",
                    ["kernel_start_s"] = Math.Round(kernelStart, 1), ["multi_user_after_kernel_s"] = Math.Round(reached, 1), ["total_s"] = Math.Round(seconds, 1),
                });
                return seconds;
            }
            finally
            {
                await stop.CancelAsync();
                try
                {
                    await qemu;
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A kernel console line's printk time: <c>[   12.345678] ...</c>.</summary>
    [GeneratedRegex(@"^\[\s*(\d+\.\d+)\]", RegexOptions.Multiline)]
    private static partial Regex PrintkTime();

    public async Task<(double Heartbeat, double Healthy)> OursAsync(int run)
    {
        var body = new JsonObject
        {
            ["instance"] = new JsonObject
            {
                ["name"] = $"boot-{run}", ["flavorRef"] = "1", ["volume"] = new JsonObject { ["size"] = 1 },
                ["datastore"] = new JsonObject { ["type"] = "mariadb", ["version"] = "10.11" },
                ["databases"] = new JsonArray(new JsonObject { ["name"] = "shop" }),
                ["users"] = new JsonArray(new JsonObject { ["name"] = "app", ["password"] = "Str0ng_pass", ["databases"] = new JsonArray(new JsonObject { ["name"] = "shop" }) }),
            },
        };
        var posted = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var (status, created) = await controller.ApiAsync(HttpMethod.Post, "/instances", body.ToJsonString());
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"create answered {(int)status}: {created?.ToJsonString()}");
        var id = created!["instance"]!["id"]!.GetValue<string>();
        var instances = new InstanceStore(controller.Database);
        var server = Path.Combine(controller.ComputeRoot, id[..8]);
        var console = new QemuServerLayout(server).ConsoleLog;
        double heartbeat = double.NaN, healthy, kernelStart = double.PositiveInfinity;
        while (true)
        {
            // The kernel's start on this clock, as for the bare boot: what the controller's own work before it costs. Its
            // first lines settle it; after that the growing console is not read again (host CPU the guest's qemu shares).
            if (File.Exists(console) && !(clock.Elapsed.TotalSeconds > kernelStart + 3))
            {
                var now = clock.Elapsed.TotalSeconds;
                foreach (Match m in PrintkTime().Matches(ReadShared(console)))
                    kernelStart = Math.Min(kernelStart, now - double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            if (double.IsNaN(heartbeat) && await instances.GetAsync(id, null, CancellationToken.None) is { LastHeartbeatAt: > 0 }) heartbeat = clock.Elapsed.TotalSeconds;
            var (_, shown) = await controller.ApiAsync(HttpMethod.Get, $"/instances/{id}");
            var instance = shown?["instance"];
            var s = instance?["status"]?.GetValue<string>();
            if (s == "ACTIVE" && instance?["operating_status"]?.GetValue<string>() == "HEALTHY")
            {
                healthy = clock.Elapsed.TotalSeconds;
                break;
            }
            if (s == "ERROR") throw new InvalidOperationException($"{id} went to ERROR: {instance!.ToJsonString()}\n{controller.Log}");
            if (clock.Elapsed > Limit) throw new TimeoutException($"{id} was not HEALTHY in {Limit}: {instance?.ToJsonString()}\n{controller.Log}");
            // Polled often: the bare boot's end is systemd's own timestamp, read afterwards, so a coarse poll here would
            // add its half-interval to one side only (200 ms polls: 0.1 s on average).
            await Task.Delay(50);
        }
        var guestHealthy = await GuestTimelineAsync(server, run);
        // The controller's side, from the POST on: its log lines for this instance (each step of the create flow, with
        // the step times at the end; allocate is the host's work before qemu starts).
        await Console.Error.WriteLineAsync($"{posted:yyyy-MM-dd HH:mm:ss.fff} POST /instances ({run})");
        foreach (var line in controller.Log.Split('\n').Where(l => l.Contains(id, StringComparison.Ordinal)))
            await Console.Error.WriteLineAsync(line.Trim());
        report(new JsonObject
        {
            ["part"] = "boot", ["run"] = $"ours {run}: POST to first heartbeat and to ACTIVE/HEALTHY", ["instance"] = id,
            ["heartbeat_s"] = Math.Round(heartbeat, 1), ["healthy_s"] = Math.Round(healthy, 1),
            // Split of healthy_s: POST to the kernel's start (the create flow, qemu, firmware), the guest's own clock to its
            // agent's "healthy", and what is left (the heartbeat reaching the API, the poll).
            ["kernel_start_s"] = Math.Round(kernelStart, 2), ["guest_healthy_s"] = Math.Round(guestHealthy, 2),
            ["after_guest_s"] = Math.Round(healthy - kernelStart - guestHealthy, 2),
        });
        await controller.ApiAsync(HttpMethod.Delete, $"/instances/{id}");
        return (heartbeat, healthy);
    }

    /// <summary>
    /// Where the guest's time went, on its own clock (seconds since its kernel started), read over SSH once it is healthy:
    /// systemd's summary, then the agent's and the engine's journal (to stderr, beside the JSON lines).
    /// </summary>
    private async Task<double> GuestTimelineAsync(string server, int run)
    {
        var layout = new QemuServerLayout(server);
        // As trove-guest ssh does: the keys of the first block on its console (the controller pins them lazily), which the
        // guest may print after its agent is healthy.
        if (!await QemuComputeDriver.WaitForHostKeysAsync(layout, TimeSpan.FromMinutes(1), CancellationToken.None))
        {
            await Console.Error.WriteLineAsync($"---- guest timeline, ours {run}: no host key on its console ----");
            return double.NaN;
        }
        var shell = GuestShell.For(controller.ComputeRoot, layout);
        var result = await shell.RunAsync(
            "for u in multi-user.target trove-guest-firstboot.service trove-guest-hostkeys.service trove-guest-agent.service mariadb.service; do " +
            "echo \"$u active after $(systemctl show -p ActiveEnterTimestampMonotonic --value $u) us\"; done; " +
            "journalctl -b -o short-monotonic --no-pager -u trove-guest-agent -u mariadb -u trove-guest-firstboot -u trove-guest-hostkeys",
            DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
        await Console.Error.WriteLineAsync($"---- guest timeline, ours {run} (exit {result.ExitCode}) ----\n{result.StandardOutput}{result.StandardError}");
        // The agent's "healthy", seconds since the guest's kernel started (journal's monotonic clock).
        var line = result.StandardOutput.Split('\n').FirstOrDefault(l => l.Contains("Status \"healthy\"", StringComparison.Ordinal));
        return line is not null && PrintkTime().Match(line) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    private static string ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
