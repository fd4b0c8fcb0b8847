using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// Outside-the-chroot phases run diskimage-builder's own elements unchanged (pkg-map, manifests, package-installs'
/// squash, which is DIB's Python), with the environment DIB gives them; a failing hook names itself.
/// </summary>
public sealed class PhaseRunnerTests : IDisposable
{
    private readonly ElementTree _tree = new();
    private readonly BuildLayout _layout = BuildLayout.Create();

    public void Dispose()
    {
        _tree.Dispose();
        Directory.Delete(_layout.BuildDirectory, recursive: true);
    }

    private sealed class Recorder : IBuildProgress
    {
        public List<string> Events { get; } = [];

        public void ScriptStarted(Phase phase, string script) => Events.Add($"start {phase.Name}/{script}");

        public void ScriptEnded(Phase phase, string script, TimeSpan elapsed, int exitCode) => Events.Add($"end {phase.Name}/{script} {exitCode}");

        public void Output(Phase phase, string? script, string line) => Events.Add($"out {script}: {line}");
    }

    private (PhaseRunner Runner, Recorder Progress) Prepare(IReadOnlyList<string> requested, string? elementsPath = null)
    {
        var library = ElementLibrary.Load(elementsPath, ElementLibrary.DiskImageBuilderElements());
        var resolved = ElementResolver.Resolve(library, requested);
        HookTree.Assemble(resolved.Elements, _layout.Hooks);
        var env = BuildEnvironment.For(_layout, resolved, library, new BuildSettings { ImageName = Path.Combine(_layout.ImageDirectory, "img") });
        var progress = new Recorder();
        return (new PhaseRunner(env, progress), progress);
    }

    [Fact]
    public async Task Diskimage_builders_own_extra_data_hooks_run_unchanged()
    {
        // What the image's own package-installs.yaml would hold, from one of our elements and DIB's install-static.
        _tree.With("tg-test", ("element-deps", "package-installs\npkg-map\nmanifests\ninstall-static\n"),
            ("package-installs.yaml", "mariadb-server:\nmariadb-backup:\n  phase: install.d\ncurl:\n  uninstall: true\n"),
            ("pkg-map", """{"family": {"debian": {"mariadb-backup": "mariadb-backup"}}}"""));
        var (runner, progress) = Prepare(ElementResolver.WithDefaults(["debian-minimal", "tg-test"], skipBase: false), _tree.Root);
        Directory.CreateDirectory(Path.Combine(_layout.Root, "tmp")); // what root.d's debootstrap leaves, as far as these hooks care
        var runs = await runner.RunAsync(Phase.Named("extra-data"), _layout.Hooks, CancellationToken.None);

        runs.Select(r => r.Script).Should().Contain(["10-create-pkg-map-dir", "20-manifest-dir", "99-squash-package-install"]);
        runs.Select(r => r.Script).Should().BeInAscendingOrder(RunParts.SortNumeric.Instance);
        // pkg-map copies each element's map into the image (through get_image_element_array, exported as DIB does).
        File.ReadAllText(Path.Combine(_layout.Root, "usr/share/pkg-map/tg-test")).Should().Contain("mariadb-backup");
        File.Exists(Path.Combine(_layout.Root, "usr/share/pkg-map/base")).Should().BeTrue();
        // manifests made its directory (DIB_MANIFEST_IMAGE_DIR, from its environment.d).
        Directory.Exists(Path.Combine(_layout.Root, "etc/dib-manifests")).Should().BeTrue();
        // package-installs squashed every element's package-installs.yaml with DIB's own Python.
        var squashed = JsonNode.Parse(File.ReadAllText(Path.Combine(_layout.Root, "tmp/package-installs.json")))!.ToJsonString();
        squashed.Should().Contain("mariadb-server").And.Contain("curl").And.Contain("tg-test");
        progress.Events.Should().Contain("start extra-data/10-create-pkg-map-dir").And.Contain("end extra-data/99-squash-package-install 0");
    }

    [Fact]
    public async Task A_failing_hook_stops_the_phase_and_names_itself()
    {
        _tree.With("os", ("element-provides", "operating-system"), ("environment.d/10-os", "export OS_MARK=from-environment-d\n"))
            .With("broken", ("root.d/10-first+x", "#!/bin/bash\necho \"first saw $OS_MARK\"\nprintf 'no newline at the end'\n"),
                ("root.d/20-fails+x", "#!/bin/bash\necho 'about to fail' >&2\nexit 3\n"),
                ("root.d/30-never+x", "#!/bin/bash\necho never\n"));
        var (runner, progress) = Prepare(["os", "broken"], _tree.Root);
        var run = () => runner.RunAsync(Phase.Named("root"), _layout.Hooks, CancellationToken.None);
        var failure = (await run.Should().ThrowAsync<PhaseFailedException>()).Which;
        failure.Script.Should().Be("20-fails");
        failure.ExitCode.Should().Be(3);
        failure.Message.Should().Contain("root.d: 20-fails failed with exit code 3").And.Contain("about to fail");
        progress.Events.Should().Contain("out 10-first: first saw from-environment-d");
        progress.Events.Should().Contain("out 10-first: no newline at the end").And.Contain("end root/10-first 0", "output without a final newline does not hide the end of the script");
        progress.Events.Should().NotContain(e => e.Contains("30-never"));
    }

    [Fact]
    public async Task An_environment_file_that_fails_under_set_u_stops_the_phase_before_any_script()
    {
        _tree.With("os", ("element-provides", "operating-system"), ("environment.d/10-bad", "echo \"$UNSET_VARIABLE_FOR_TEST\"\n"))
            .With("x", ("root.d/10-x+x", "#!/bin/bash\necho ran\n"));
        var (runner, progress) = Prepare(["os", "x"], _tree.Root);
        var run = () => runner.RunAsync(Phase.Named("root"), _layout.Hooks, CancellationToken.None);
        (await run.Should().ThrowAsync<PhaseFailedException>()).Which.Script.Should().Be("environment.d");
        progress.Events.Should().NotContain("start root/10-x");
    }
}
