using FluentAssertions;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// In-chroot phases: the mounts DIB provides are there while hooks run, and none is left afterwards, whether the phase
/// succeeded, failed or was cancelled in the middle of a script.
/// </summary>
public sealed class ChrootPhaseTests : IDisposable
{
    private readonly ElementTree _tree = new();
    private readonly BuildLayout _layout = BuildLayout.Create();

    public ChrootPhaseTests() => MiniRoot.Create(_layout.Root);

    public void Dispose()
    {
        ChrootMounts.UnmountAllAsync(_layout.BuildDirectory).GetAwaiter().GetResult();
        _tree.Dispose();
        Directory.Delete(_layout.BuildDirectory, recursive: true);
    }

    private PhaseRunner Runner(params (string Path, string Content)[] files)
    {
        _tree.With("os", ("element-provides", "operating-system"), ("environment.d/10-os.bash", "export FROM_ENVIRONMENT_D=yes\n"))
            .With("probe", files);
        var library = ElementLibrary.Load(_tree.Root, []);
        var resolved = ElementResolver.Resolve(library, ["os", "probe"]);
        HookTree.Assemble(resolved.Elements, _layout.Hooks);
        var inherited = new System.Collections.Hashtable { ["PATH"] = "/usr/bin:/bin", ["DIB_CUSTOM_KNOB"] = "passed", ["TMPDIR"] = "/host-only" };
        return new PhaseRunner(BuildEnvironment.For(_layout, resolved, library, new BuildSettings(), inherited));
    }

    [Fact]
    public async Task Hooks_see_DIBs_chroot_and_nothing_stays_mounted()
    {
        var runner = Runner(("install.d/10-probe+x", """
            #!/bin/bash
            set -eu
            {
              echo "proc=$(ls /proc/self/ >/dev/null && echo yes)"
              echo "devnull=$(echo x > /dev/null && echo yes)"
              echo "sys-writable=$(touch /sys/probe 2>/dev/null && echo yes || echo no)"
              echo "hooks-writable=$(touch /tmp/in_target.d/probe 2>/dev/null && echo yes || echo no)"
              echo "own-hooks=$(ls /tmp/in_target.d/install.d/)"
              echo "env-d=$FROM_ENVIRONMENT_D knob=$DIB_CUSTOM_KNOB tmpdir=${TMPDIR:-unset} elements=$IMAGE_ELEMENT"
              echo "resolv=$(cat /etc/resolv.conf | head -c 0; [ "$(cat /etc/resolv.conf)" != "# the image's own" ] && echo host || echo image)"
            } > /probe.out
            """));
        await using (var mounts = await ChrootMounts.MountAsync(_layout.Root, _layout.Hooks, CancellationToken.None))
        {
            ChrootMounts.MountsUnder(_layout.Root).Should().HaveCount(5);
            var runs = await runner.RunInChrootAsync(Phase.Named("install"), _layout.Root, _layout.Hooks, CancellationToken.None);
            runs.Should().ContainSingle(r => r.Script == "10-probe");
        }
        File.ReadAllLines(Path.Combine(_layout.Root, "probe.out")).Should().Equal(
            "proc=yes", "devnull=yes", "sys-writable=no", "hooks-writable=no", "own-hooks=10-probe",
            "env-d=yes knob=passed tmpdir=unset elements=os probe", "resolv=host");
        ChrootMounts.MountsUnder(_layout.Root).Should().BeEmpty();
        File.ReadAllText(Path.Combine(_layout.Root, "etc", "resolv.conf")).Should().Be("# the image's own\n", "the image's resolv.conf comes back");
        Directory.Exists(Path.Combine(_layout.Root, "tmp", "in_target.d")).Should().BeFalse();
    }

    [Fact]
    public async Task A_failing_hook_in_the_chroot_leaves_no_mount_behind()
    {
        var runner = Runner(("install.d/10-fail+x", "#!/bin/bash\necho 'inside and failing' >&2\nexit 7\n"));
        var run = async () =>
        {
            await using var mounts = await ChrootMounts.MountAsync(_layout.Root, _layout.Hooks, CancellationToken.None);
            await runner.RunInChrootAsync(Phase.Named("install"), _layout.Root, _layout.Hooks, CancellationToken.None);
        };
        var failure = (await run.Should().ThrowAsync<PhaseFailedException>()).Which;
        failure.Message.Should().Contain("install.d: 10-fail failed with exit code 7").And.Contain("inside and failing");
        ChrootMounts.MountsUnder(_layout.Root).Should().BeEmpty();
    }

    [Fact]
    public async Task A_cancelled_build_kills_what_runs_in_the_chroot_and_unmounts()
    {
        var runner = Runner(("install.d/10-hang+x", "#!/bin/bash\nsleep 300 &\nsleep 300\n"));
        using var cancel = new CancellationTokenSource();
        var run = async () =>
        {
            await using var mounts = await ChrootMounts.MountAsync(_layout.Root, _layout.Hooks, CancellationToken.None);
            cancel.CancelAfter(TimeSpan.FromSeconds(1));
            await runner.RunInChrootAsync(Phase.Named("install"), _layout.Root, _layout.Hooks, cancel.Token);
        };
        await run.Should().ThrowAsync<OperationCanceledException>();
        ChrootMounts.MountsUnder(_layout.Root).Should().BeEmpty();
        var rooted = Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Count(d =>
        {
            try
            {
                return new DirectoryInfo(Path.Combine(d, "root")).LinkTarget?.StartsWith(_layout.Root) == true;
            }
            catch (Exception)
            {
                return false;
            }
        });
        rooted.Should().Be(0, "no process is left running in the build's root");
    }
}
