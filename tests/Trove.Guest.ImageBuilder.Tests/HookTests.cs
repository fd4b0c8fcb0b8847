using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>Which hooks run and in which order, checked against diskimage-builder's own dib-run-parts; the hook tree merge.</summary>
public sealed class HookTests : IDisposable
{
    private readonly ElementTree _tree = new();

    public void Dispose() => _tree.Dispose();

    [Fact]
    public async Task Scripts_run_in_the_order_and_by_the_rules_of_dib_run_parts()
    {
        string[] names =
        [
            "10-foo", "9-bar", "09-baz", "100-late", "00-early", "10-Foo", "10-foo_2", "50-x", "5-y", "foo", "-1-neg", "10-foo.sh",
            "20-dots.ok", "99-zz", "010-zero-padded", "1.5-frac", "a10", "75-debian-minimal-baseinstall", "08-debootstrap",
        ];
        var phase = Path.Combine(_tree.Root, "install.d");
        Directory.CreateDirectory(phase);
        foreach (var n in names)
        {
            File.WriteAllText(Path.Combine(phase, n), "#!/bin/sh\n");
            File.SetUnixFileMode(Path.Combine(phase, n), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        File.WriteAllText(Path.Combine(phase, "30-not-executable"), "#!/bin/sh\n");
        File.CreateSymbolicLink(Path.Combine(phase, "40-link"), Path.Combine(phase, "10-foo"));

        var dib = await Cli.Wrap("/usr/lib/python3/dist-packages/diskimage_builder/lib/dib-run-parts").WithArguments(["--list", phase])
            .ExecuteBufferedAsync();
        var expected = dib.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFileName).ToList();
        expected.Should().NotContain(["10-foo.sh", "30-not-executable", "20-dots.ok"], "the reference skips them too");
        RunParts.Scripts(phase).Select(Path.GetFileName).Should().Equal(expected);
    }

    [Fact]
    public void Environment_files_are_sourced_in_byte_order_dots_allowed_no_executable_bit_needed()
    {
        var env = Path.Combine(_tree.Root, "environment.d");
        Directory.CreateDirectory(env);
        foreach (var n in new[] { "9-a.bash", "10-b", "11-dib-install-type.bash", "bad name", "02-c" }) File.WriteAllText(Path.Combine(env, n), "");
        RunParts.EnvironmentFiles(env).Select(Path.GetFileName).Should().Equal("02-c", "10-b", "11-dib-install-type.bash", "9-a.bash");
    }

    [Fact]
    public void The_hook_tree_merges_elements_and_refuses_a_duplicated_hook()
    {
        _tree.With("a", ("install.d/10-a+x", "#!/bin/sh\n"), ("static/etc/a.conf", "a"), ("element-deps", "b"), ("tests/test_a.py", ""))
            .With("b", ("install.d/20-b+x", "#!/bin/sh\n"), ("static/etc/b.conf", "b"), ("bin/tool+x", "#!/bin/sh\n"));
        var library = ElementLibrary.Load(_tree.Root, []);
        library.TryGet("a", out var a);
        library.TryGet("b", out var b);
        var hooks = Path.Combine(_tree.Root, "..", Path.GetFileName(_tree.Root) + "-hooks");
        try
        {
            HookTree.Assemble([a, b], hooks);
            Directory.GetFiles(Path.Combine(hooks, "install.d")).Select(Path.GetFileName).Should().BeEquivalentTo("10-a", "20-b");
            Directory.GetFiles(Path.Combine(hooks, "static", "etc")).Select(Path.GetFileName).Should().BeEquivalentTo("a.conf", "b.conf");
            File.GetUnixFileMode(Path.Combine(hooks, "bin", "tool")).Should().HaveFlag(UnixFileMode.UserExecute);
            Directory.Exists(Path.Combine(hooks, "tests")).Should().BeFalse();
            File.Exists(Path.Combine(hooks, "element-deps")).Should().BeTrue();

            _tree.With("c", ("install.d/10-a+x", "#!/bin/sh\n"));
            library = ElementLibrary.Load(_tree.Root, []);
            library.TryGet("c", out var c);
            var duplicate = () => HookTree.Assemble([a, b, c], hooks + "2");
            duplicate.Should().Throw<ElementException>().WithMessage("duplicated hook: 'install.d/10-a' is in both 'a' and 'c'");
        }
        finally
        {
            foreach (var dir in new[] { hooks, hooks + "2" })
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
