using System.Globalization;
using System.Text.Json.Nodes;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Bench.Controller;

/// <summary>The boot benchmark's driver: registers the image, starts the controller with the qemu driver, alternates bare and our boots, prints a summary.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class BootBench
{
    private const int RamMb = 512;

    public static async Task RunAsync(string controllerDll, string image, string templates, string rabbitUrl, int runs)
    {
        var images = Directory.CreateTempSubdirectory("tgb-images-").FullName;
        void Report(JsonObject r) => Console.WriteLine(r.ToJsonString());
        try
        {
            Report(new JsonObject
            {
                ["run"] = "start", ["loadavg"] = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]), ["nproc"] = Environment.ProcessorCount,
                ["image_bytes"] = new FileInfo(image).Length,
            });
            var registered = await new LocalImageRegistry(images).RegisterAsync(image, "mariadb-bench", "mariadb", "10.11", CancellationToken.None);
            await using var controller = await ControllerUnderTest.StartAsync(controllerDll, "/bin/false", templates, rabbitUrl,
                new ControllerUnderTest.QemuSetup(images, registered.Id));
            var boot = new BootToHealthy(controller, image, RamMb, Report);
            var bare = new List<double>();
            var ours = new List<(double Heartbeat, double Healthy)>();
            for (var n = 1; n <= runs; n++)
            {
                bare.Add(await boot.BareAsync(n));
                ours.Add(await boot.OursAsync(n));
            }
            static double Median(IEnumerable<double> xs)
            {
                var s = xs.Order().ToArray();
                return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
            }
            var bareMedian = Median(bare);
            var heartbeat = Median(ours.Select(o => o.Heartbeat));
            var healthy = Median(ours.Select(o => o.Healthy));
            const double DibMiB = 385;
            var imageMiB = new FileInfo(image).Length / 1048576.0;
            Console.WriteLine();
            Console.WriteLine($"| median of {runs} (TCG, 1 vCPU, {RamMb} MB) | seconds | vs bare boot |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| bare boot to multi-user.target | {bareMedian.ToString("0.0", CultureInfo.InvariantCulture)} | 1.00× |");
            Console.WriteLine($"| POST to first heartbeat | {heartbeat.ToString("0.0", CultureInfo.InvariantCulture)} | {(heartbeat / bareMedian).ToString("0.00", CultureInfo.InvariantCulture)}× |");
            Console.WriteLine($"| POST to ACTIVE/HEALTHY | {healthy.ToString("0.0", CultureInfo.InvariantCulture)} | {(healthy / bareMedian).ToString("0.00", CultureInfo.InvariantCulture)}× |");
            // Each pair ran back to back, so its ratio is less exposed to the machine's drift than the ratio of medians.
            var pairs = bare.Zip(ours, (b, o) => o.Healthy / b).ToList();
            Console.WriteLine();
            Console.WriteLine($"pairs, healthy / the bare boot before it: {string.Join(", ", pairs.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture) + "×"))}; "
                + $"median {Median(pairs).ToString("0.00", CultureInfo.InvariantCulture)}×");
            Console.WriteLine();
            Console.WriteLine($"image: {imageMiB.ToString("0.0", CultureInfo.InvariantCulture)} MiB qcow2 = {(imageMiB / DibMiB).ToString("0.00", CultureInfo.InvariantCulture)}× DIB's recorded {DibMiB} MiB (debian-minimal + vm + MariaDB)");
        }
        finally
        {
            Directory.Delete(images, recursive: true);
        }
    }
}
