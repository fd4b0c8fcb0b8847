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
}
