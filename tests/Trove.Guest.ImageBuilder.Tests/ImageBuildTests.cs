using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.CommandLine;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// One real build per test run, shared by the tests of this class: diskimage-builder's <c>debian-minimal</c> and our
/// <c>vm</c>, debootstrapped from the Debian mirror, every phase run with DIB's own hooks, turned into raw and qcow2.
/// </summary>
public sealed class DebianMinimalBuild : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("tgi-image-").FullName;
    public BuildResult Result { get; private set; } = null!;
    public string Log => System.IO.File.ReadAllText(Path.Combine(Directory, "build.log"));

    public string File(string type) => Path.Combine(Directory, $"debian.{type}");

    private sealed class LogProgress(StreamWriter log) : IBuildProgress
    {
        public void ScriptStarted(Phase phase, string script) { lock (log) log.WriteLine($"start {phase}/{script}"); }

        public void ScriptEnded(Phase phase, string script, TimeSpan elapsed, int exitCode) { lock (log) log.WriteLine($"end {phase}/{script} {exitCode} {elapsed.TotalSeconds:0.0}s"); }

        public void Output(Phase phase, string? script, string line) { lock (log) log.WriteLine($"{phase}/{script}: {line}"); }
    }

    public async ValueTask InitializeAsync()
    {
        await using var log = new StreamWriter(Path.Combine(Directory, "build.log")) { AutoFlush = true };
        // The mirror knobs go to this build only: setting them in the process would change other tests' hooks (and cache keys).
        var environment = new System.Collections.Hashtable(Environment.GetEnvironmentVariables());
        string Knob(string name, string fallback) => environment[name] as string is { Length: > 0 } v ? v : fallback;
        environment["DIB_RELEASE"] = Knob("DIB_RELEASE", "bookworm");
        environment["DIB_DISTRIBUTION_MIRROR"] = Knob("DIB_DISTRIBUTION_MIRROR", "http://deb.debian.org/debian");
        environment["DIB_DEBIAN_SECURITY_MIRROR"] = Knob("DIB_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security");
        environment["DIB_DEBIAN_SECURITY_SUBPATH"] = Knob("DIB_DEBIAN_SECURITY_SUBPATH", "-security");
        var request = new BuildRequest
        {
            Elements = ["debian-minimal", "vm"], Output = Path.Combine(Directory, "debian"), Types = ["raw", "qcow2"],
            BuiltInElements = ImageCli.BuiltInElements(),
            // Every phase runs here, whatever an earlier build cached (RootCacheTests covers the cache); apt's .deb cache still helps.
            NoCache = true,
            Environment = environment,
            Settings = new BuildSettings { ImageCache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "image-create") },
        };
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            Result = await new ImageBuild(request, new LogProgress(log)).RunAsync(limit.Token);
            var check = await CliWrap.Cli.Wrap("sha256sum").WithArguments(["-c", "debian.qcow2.sha256", "debian.raw.sha256"]).WithWorkingDirectory(Directory)
                .WithValidation(CliWrap.CommandResultValidation.None).ExecuteBufferedAsync();
            Checksums = check.StandardOutput + check.StandardError;
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"the image build failed: {e.Message}\n{string.Join("\n", System.IO.File.ReadLines(Path.Combine(Directory, "build.log")).TakeLast(40))}", e);
        }
    }

    /// <summary><c>sha256sum -c</c> of the build's checksum files, run as soon as the build ends.</summary>
    public string Checksums { get; private set; } = "";

    public ValueTask DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The real build boots: under qemu (TCG, no KVM here) with SeaBIOS and with OVMF, until getty greets on the serial
/// console (its issue line, "Debian GNU/Linux 12 debian ttyS0", comes just before the login prompt, which ends no line).
/// </summary>
public sealed class ImageBuildTests(DebianMinimalBuild build) : IClassFixture<DebianMinimalBuild>
{
    [Fact]
    public void The_build_ran_DIBs_phases_and_wrote_both_disk_types()
    {
        build.Result.Files.Should().BeEquivalentTo([build.File("qcow2"), build.File("raw")]);
        build.Result.Scripts.Select(s => $"{s.Phase}/{s.Script}").Should().Contain(["root.d/08-debootstrap", "install.d/01-package-installs",
            "finalise.d/99-write-dpkg-manifest"]);
        build.Result.Steps.Select(s => s.Step).Should().ContainInOrder("root", "extra-data", "pre-install", "install", "post-install", "finalise", "cleanup", "disk", "output qcow2");
        new FileInfo(build.File("qcow2")).Length.Should().BeLessThan(new FileInfo(build.File("raw")).Length);
        ChrootMounts.MountsUnder("/tmp").Where(m => m.Contains("tgi_build", StringComparison.Ordinal)).Should().BeEmpty();
    }

    [Fact]
    public async Task The_build_made_one_initramfs_left_no_trace_of_its_tuning_and_recorded_what_it_holds()
    {
        build.Result.Steps.Select(s => s.Step).Should().Contain("initramfs (once)");
        build.Log.Split('\n').Count(l => l.Contains("initramfs for 6.", StringComparison.Ordinal)).Should().Be(1, "one kernel, one initramfs");
        var listing = System.IO.File.ReadAllLines(build.File("tree.txt"));
        listing.Should().Contain(l => l.Contains(" boot/initrd.img-6.", StringComparison.Ordinal));
        listing.Should().NotContain(l => l.Contains("trove-guest-image", StringComparison.Ordinal), "the diversion and dpkg's unsafe-io file are gone");
        listing.Should().Contain(l => l.StartsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Array.Empty<byte>())) + " f ", StringComparison.Ordinal)
            && l.EndsWith(" etc/machine-id", StringComparison.Ordinal), "an empty machine-id: each instance makes its own");

        using var sbom = System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(build.File("spdx.json")));
        var purls = sbom.RootElement.GetProperty("packages").EnumerateArray()
            .SelectMany(p => p.TryGetProperty("externalRefs", out var refs) ? refs.EnumerateArray() : [])
            .Select(r => r.GetProperty("referenceLocator").GetString()!).ToList();
        purls.Should().Contain(p => p.StartsWith("pkg:deb/debian/linux-image-amd64@6.", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("pkg:deb/debian/systemd@252.", StringComparison.Ordinal));
        purls.Count.Should().BeGreaterThan(150);
        build.Checksums.Should().Be("debian.qcow2: OK\ndebian.raw: OK\n", "each image matches the sha256 file written beside it");
    }

    [Theory]
    [InlineData("bios")]
    [InlineData("uefi")]
    public async Task The_image_boots_to_getty_on_the_serial_console(string firmware)
    {
        var boot = await QemuConsole.BootAsync(build.File("qcow2"), "qcow2", firmware, 1024,
            line => line.Contains("GNU/Linux", StringComparison.Ordinal) && line.TrimEnd().EndsWith("ttyS0", StringComparison.Ordinal), TimeSpan.FromMinutes(6));
        var text = boot.Console;
        text.Should().MatchRegex("GNU/Linux 12 .* ttyS0", $"{firmware} boot reaches getty on ttyS0 (after {boot.Elapsed.TotalSeconds:0} s):\n{boot.Tail}");
        text.Should().Contain("Linux version");
    }
}
