using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CliWrap;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Bench.Controller;

/// <summary>
/// Boot benchmark (<c>bench/guest-boot.sh</c>): our mariadb image under qemu (TCG here), one run after the other:
/// <list type="bullet">
/// <item>bare: the same image booted by qemu with the same machine (1 vCPU, the flavor's memory, BIOS, virtio disk and
/// NIC, restricted user networking) and no config drive, timed from qemu's start to systemd's
/// "Reached target multi-user.target" on the serial console;</item>
/// <item>ours: <c>POST /instances</c> on the real controller with the qemu driver, timed to the guest's first heartbeat
/// in the state store and to the first show answering ACTIVE/HEALTHY (prepare done: volume formatted, MariaDB
/// initialised and started, users created).</item>
/// </list>
/// </summary>
public sealed class BootToHealthy(ControllerUnderTest controller, string image, int ramMb, Action<JsonObject> report)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(15);

    public async Task<double> BareAsync(int run)
    {
        var dir = Directory.CreateTempSubdirectory("tgb-bare-").FullName;
        var console = Path.Combine(dir, "console.log");
        var overlay = Path.Combine(dir, "boot.qcow2");
        try
        {
            await Cli.Wrap("qemu-img").WithArguments(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, overlay]).ExecuteAsync();
            using var stop = new CancellationTokenSource(Limit);
            var clock = Stopwatch.StartNew();
            var qemu = Cli.Wrap("qemu-system-x86_64").WithArguments([
                "-accel", "tcg", "-m", ramMb.ToString(CultureInfo.InvariantCulture), "-smp", "1", "-display", "none", "-vga", "none",
                "-serial", $"file:{console}", "-drive", $"file={overlay},format=qcow2,if=virtio",
                "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0"]).WithValidation(CommandResultValidation.None)
                .ExecuteAsync(stop.Token);
            double seconds = double.NaN;
            while (!qemu.Task.IsCompleted && clock.Elapsed < Limit)
            {
                if (File.Exists(console) && ReadShared(console).Contains("multi-user.target", StringComparison.Ordinal)
                    && ReadShared(console).Split('\n').Any(l => l.Contains("Reached target", StringComparison.Ordinal) && l.Contains("multi-user.target", StringComparison.Ordinal)))
                {
                    seconds = clock.Elapsed.TotalSeconds;
                    break;
                }
                await Task.Delay(100);
            }
            await stop.CancelAsync();
            try
            {
                await qemu;
            }
            catch (OperationCanceledException)
            {
            }
            report(new JsonObject { ["part"] = "boot", ["run"] = $"bare {run}: qemu start to multi-user.target", ["total_s"] = Math.Round(seconds, 1) });
            return seconds;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

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
        var clock = Stopwatch.StartNew();
        var (status, created) = await controller.ApiAsync(HttpMethod.Post, "/instances", body.ToJsonString());
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"create answered {(int)status}: {created?.ToJsonString()}");
        var id = created!["instance"]!["id"]!.GetValue<string>();
        var instances = new InstanceStore(controller.Database);
        double heartbeat = double.NaN, healthy;
        while (true)
        {
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
            await Task.Delay(200);
        }
        var server = Path.Combine(controller.ComputeRoot, id[..8]);
        var console = ReadShared(new QemuServerLayout(server).ConsoleLog);
        report(new JsonObject
        {
            ["part"] = "boot", ["run"] = $"ours {run}: POST to first heartbeat and to ACTIVE/HEALTHY", ["instance"] = id,
            ["heartbeat_s"] = Math.Round(heartbeat, 1), ["healthy_s"] = Math.Round(healthy, 1),
            ["console_multi_user"] = console.Contains("multi-user.target", StringComparison.Ordinal),
        });
        await controller.ApiAsync(HttpMethod.Delete, $"/instances/{id}");
        return (heartbeat, healthy);
    }

    private static string ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }
}
