using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Build;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// The tree cache: an unchanged rebuild restores the finished tree and runs no phase; a change to a later phase restores
/// root.d's result and runs the rest; a change to root.d (or <c>--no-cache</c>) runs everything again.
/// </summary>
public sealed class TreeCacheTests : IDisposable
{
    private readonly ElementTree _tree = new();
    private readonly string _out = Directory.CreateTempSubdirectory("tgi-cache-test-").FullName;

    public void Dispose()
    {
        _tree.Dispose();
        Directory.Delete(_out, recursive: true);
    }

    private BuildResult? _last;

    private string Counter => Path.Combine(_out, "root.d-runs");

    private int Runs => File.Exists(Counter) ? File.ReadAllLines(Counter).Length : 0;

    private string LaterCounter => Path.Combine(_out, "post-root.d-runs");

    private int LaterRuns => File.Exists(LaterCounter) ? File.ReadAllLines(LaterCounter).Length : 0;

    private void WriteElements(string rootScriptVersion, string installMessage)
    {
        _tree.With("os", ("element-provides", "operating-system"),
            ("root.d/10-make-root+x", $"""
                #!/bin/bash
                set -eu
                echo run >> {Counter}
                mkdir -p "$TARGET_ROOT/etc" "$TARGET_ROOT/tmp"
                echo "{rootScriptVersion}" > "$TARGET_ROOT/etc/made-by-root-d"
                """),
            ("post-root.d/10-note+x", $"#!/bin/bash\necho run >> {LaterCounter}\necho '{installMessage}' > \"$TARGET_ROOT/etc/note\"\n"));
    }

    private async Task<string> BuildAsync(bool noCache = false)
    {
        var output = Path.Combine(_out, "img");
        var result = await new ImageBuild(new BuildRequest
        {
            Elements = ["os"], Output = output, Types = ["tar"], SkipBase = true, ElementsPath = _tree.Root, NoCache = noCache,
            // Fixed, so that knobs other tests set in this process cannot change the key between the builds.
            Environment = new System.Collections.Hashtable { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" },
            Settings = new BuildSettings { ImageCache = Path.Combine(_out, "cache") },
        }).RunAsync(CancellationToken.None);
        result.Files.Should().ContainSingle();
        _last = result;
        var listing = await Cli.Wrap("tar").WithArguments(["-xOf", output + ".tar", "./etc/made-by-root-d", "./etc/note"]).ExecuteBufferedAsync();
        return listing.StandardOutput.Replace("\n", " ").Trim();
    }

    [Fact]
    public async Task Each_stage_runs_again_only_when_what_decides_it_changes()
    {
        WriteElements("v1", "first");
        (await BuildAsync()).Should().Be("v1 first");
        Runs.Should().Be(1);

        var first = _last!;
        (await BuildAsync()).Should().Be("v1 first", "the cached tree is the same tree");
        _last!.TreeSha256.Should().Be(first.TreeSha256);
        _last.Steps.Select(s => s.Step).Should().Contain("tree hash (cached)").And.NotContain("tree hash", "the listing was saved with the tree");
        Runs.Should().Be(1, "the second build restored the finished tree");
        LaterRuns.Should().Be(1, "an unchanged rebuild runs no phase at all");

        WriteElements("v1", "second");
        (await BuildAsync()).Should().Be("v1 second", "later phases run on the restored tree as usual");
        Runs.Should().Be(1, "a change outside root.d keeps root.d's cached result");
        LaterRuns.Should().Be(2, "the changed phase ran on the restored tree");

        (await BuildAsync(noCache: true)).Should().Be("v1 second");
        Runs.Should().Be(2, "--no-cache runs root.d");

        WriteElements("v2", "second");
        (await BuildAsync()).Should().Be("v2 second");
        Runs.Should().Be(3, "a changed root.d script is a different key");
        Directory.GetFiles(Path.Combine(_out, "cache", "trove-guest"), "root-*.tar.zst").Should().HaveCount(2);
        Directory.GetFiles(Path.Combine(_out, "cache", "trove-guest"), "image-*.tar.zst").Should().HaveCount(3, "v1 first, v1 second, v2 second");
    }

    [Fact]
    public void A_knob_naming_an_input_file_or_folder_keys_the_cache_by_its_content()
    {
        var input = Path.Combine(_out, "agent");
        File.WriteAllText(input, "agent v1");
        var hooks = Directory.CreateTempSubdirectory("tgi-cache-hooks-").FullName;
        try
        {
            var environment = new Dictionary<string, string> { ["ARCH"] = "amd64", ["DIB_TROVE_GUEST_AGENT"] = input, ["DIB_RELEASE"] = "bookworm" };
            var first = TreeCache.Key(TreeStage.Image, hooks, environment);
            TreeCache.Key(TreeStage.Image, hooks, environment).Should().Be(first);
            File.WriteAllText(input, "agent v2");
            TreeCache.Key(TreeStage.Image, hooks, environment).Should().NotBe(first, "the file at the same path changed");

            var folder = Directory.CreateTempSubdirectory("tgi-cache-input-").FullName;
            File.WriteAllText(Path.Combine(folder, "my.cnf.sbn"), "a");
            environment["DIB_TROVE_GUEST_TEMPLATES"] = folder;
            var withFolder = TreeCache.Key(TreeStage.Image, hooks, environment);
            File.WriteAllText(Path.Combine(folder, "my.cnf.sbn"), "b");
            TreeCache.Key(TreeStage.Image, hooks, environment).Should().NotBe(withFolder, "a file in the folder changed");
            Directory.Delete(folder, recursive: true);
        }
        finally
        {
            Directory.Delete(hooks, recursive: true);
        }
    }
}
