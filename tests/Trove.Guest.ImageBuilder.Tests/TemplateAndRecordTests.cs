using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.CommandLine;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Templates;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// Element templates rendered into the tree, and the records a build leaves beside its outputs (SBOM, manifest,
/// tree listing, checksums): small tar builds whose root.d writes a tree with a dpkg status file.
/// </summary>
public sealed class TemplateAndRecordTests : IDisposable
{
    private readonly ElementTree _tree = new();
    private readonly string _out = Directory.CreateTempSubdirectory("tgi-records-test-").FullName;
    private readonly string _templates = Directory.CreateTempSubdirectory("tgi-templates-").FullName;

    public void Dispose()
    {
        _tree.Dispose();
        Directory.Delete(_out, recursive: true);
        Directory.Delete(_templates, recursive: true);
    }

    private const string DpkgStatus = """
        Package: libstdc++6
        Status: install ok installed
        Architecture: amd64
        Source: gcc-12
        Version: 12.2.0-14
        Description: GNU Standard C++ Library v3
         a continuation line: Version: 0.0

        Package: removed-tool
        Status: deinstall ok config-files
        Architecture: amd64
        Version: 1.0

        Package: systemd
        Status: install ok installed
        Architecture: amd64
        Version: 1:252.30-1~deb12u2
        Homepage: https://systemd.io/

        """;

    private void WriteOs(string templatesYaml, params (string Path, string Content)[] more)
    {
        _tree.With("os", [("element-provides", "operating-system"),
            ("root.d/10-make-root+x", $$"""
                #!/bin/bash
                set -eu
                mkdir -p "$TARGET_ROOT/etc" "$TARGET_ROOT/tmp" "$TARGET_ROOT/var/lib/dpkg" "$TARGET_ROOT/usr/lib" "$TARGET_ROOT/outside-target"
                printf 'ID=debian\nVERSION_ID="12"\n' > "$TARGET_ROOT/usr/lib/os-release"
                ln -s ../usr/lib/os-release "$TARGET_ROOT/etc/os-release"
                # An absolute link, as images have them: it must be followed inside the tree, not on the host.
                ln -s /outside-target "$TARGET_ROOT/etc/linked"
                cat > "$TARGET_ROOT/var/lib/dpkg/status" <<'STATUS'
                {{DpkgStatus}}
                STATUS
                echo 0123456789abcdef > "$TARGET_ROOT/etc/machine-id"
                mkdir -p "$TARGET_ROOT/etc/iscsi"
                echo "InitiatorName=iqn.1993-08.org.debian:01:$RANDOM$RANDOM" > "$TARGET_ROOT/etc/iscsi/initiatorname.iscsi"
                """),
            ("templates.yaml", templatesYaml), .. more]);
    }

    private BuildRequest Request(long? epoch = null, string output = "img") => new()
    {
        Elements = ["os"], Output = Path.Combine(_out, output), Types = ["tar"], SkipBase = true, ElementsPath = _tree.Root,
        TemplateDirectories = [_templates],
        Environment = new System.Collections.Hashtable { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin", ["DIB_GUEST_MEMORY"] = "512M", ["DIB_DB_PASSWORD"] = "hunter2" },
        Settings = new BuildSettings { ImageCache = Path.Combine(_out, "cache"), SourceDateEpoch = epoch },
    };

    private Task<BuildResult> BuildAsync(long? epoch = null) => new ImageBuild(Request(epoch)).RunAsync(CancellationToken.None);

    private async Task<string> ReadFromTarAsync(string path) =>
        (await Cli.Wrap("tar").WithArguments(["-xOf", Path.Combine(_out, "img.tar"), path]).ExecuteBufferedAsync()).StandardOutput;

    [Fact]
    public async Task Templates_render_with_the_build_variables_from_the_element_or_the_template_directories()
    {
        File.WriteAllText(Path.Combine(_templates, "unit.conf.sbn"), "MemoryMax={{ env.DIB_GUEST_MEMORY }}\nArch={{ arch }}\nBy={{ element }} of {{ elements | array.join \",\" }}\n");
        WriteOs("""
            /etc/trove-guest/unit.conf:
              template: unit.conf.sbn
            /etc/linked/own.conf:
              template: own.conf.sbn
              mode: "0600"
            """, ("templates/own.conf.sbn", "own {{ image_name | string.size > 0 }}\n"));

        await BuildAsync();

        (await ReadFromTarAsync("./etc/trove-guest/unit.conf")).Should().Be("MemoryMax=512M\nArch=amd64\nBy=os of os\n");
        (await ReadFromTarAsync("./outside-target/own.conf")).Should().Be("own true\n", "an absolute link is followed inside the image");
        File.Exists("/outside-target/own.conf").Should().BeFalse();
        var listing = await Cli.Wrap("tar").WithArguments(["-tvf", Path.Combine(_out, "img.tar"), "./outside-target/own.conf"]).ExecuteBufferedAsync();
        listing.StandardOutput.Should().StartWith("-rw-------");
    }

    [Fact]
    public async Task A_template_error_names_the_template_and_the_element()
    {
        WriteOs("/etc/x.conf:\n  template: bad.sbn\n", ("templates/bad.sbn", "{{ env.DIB_NO_SUCH_KNOB }}\n"));
        var act = () => BuildAsync();
        (await act.Should().ThrowAsync<ElementException>()).Which.Message.Should().Contain("bad.sbn").And.Contain("element os").And.Contain("DIB_NO_SUCH_KNOB");

        WriteOs("/etc/x.conf:\n  template: ../../etc/passwd\n");
        (await act.Should().ThrowAsync<ElementException>()).Which.Message.Should().Contain("must be a name under a template directory");

        WriteOs("/etc/x.conf:\n  template: missing.sbn\n");
        (await act.Should().ThrowAsync<ElementException>()).Which.Message.Should().Contain("'missing.sbn'").And.Contain(_templates);
    }

    [Fact]
    public async Task The_plain_log_names_each_script_with_its_element_and_times_each_step()
    {
        WriteOs("{}\n");
        var console = new StringWriter();
        var log = new StringWriter();
        using (var progress = new ConsoleProgress(console, log, echoOutput: false))
        {
            await new ImageBuild(Request(), progress).RunAsync(CancellationToken.None);
        }
        console.ToString().Should().MatchRegex(@"\] root\.d/10-make-root \(os\)\n").And.MatchRegex(@"\] root\.d/10-make-root done in \d+\.\ds")
            .And.MatchRegex(@"\] step output tar done in \d+\.\ds");
        log.ToString().Should().Contain(console.ToString().Split('\n')[0], "the log has every console line");
    }

    [Fact]
    public async Task A_disk_for_another_architecture_is_refused_before_anything_runs()
    {
        WriteOs("{}\n");
        var act = () => new ImageBuild(Request() with { Types = ["qcow2"], Settings = new BuildSettings { ImageCache = Path.Combine(_out, "cache"), Arch = "arm64" } })
            .RunAsync(CancellationToken.None);
        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain("'arm64'").And.Contain("-t tar");
        Directory.Exists(Path.Combine(_out, "cache")).Should().BeFalse("nothing ran");
    }

    [Fact]
    public void Tree_paths_never_leave_the_tree()
    {
        var root = Path.Combine(_out, "root");
        Directory.CreateDirectory(Path.Combine(root, "usr", "lib"));
        File.CreateSymbolicLink(Path.Combine(root, "lib"), "usr/lib");
        File.CreateSymbolicLink(Path.Combine(root, "abs"), "/usr/lib");
        File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../..");
        TreePath.Resolve(root, "/lib/x").Should().Be(root + "/usr/lib/x");
        TreePath.Resolve(root, "/abs/x").Should().Be(root + "/usr/lib/x");
        TreePath.Resolve(root, "/up/etc/passwd").Should().Be(root + "/etc/passwd");
        TreePath.Resolve(root, "/../../etc/passwd").Should().Be(root + "/etc/passwd");
    }

    [Fact]
    public async Task A_build_leaves_an_spdx_sbom_a_manifest_a_tree_listing_and_checksums()
    {
        WriteOs("{}\n");
        var result = await BuildAsync(epoch: 1_764_000_000);

        result.Records.Select(Path.GetFileName).Should().BeEquivalentTo(["img.tree.txt", "img.spdx.json", "img.tar.sha256", "img.manifest.json"]);
        var sha = (await Cli.Wrap("sha256sum").WithArguments(["-c", "img.tar.sha256"]).WithWorkingDirectory(_out).ExecuteBufferedAsync()).StandardOutput;
        sha.Should().Contain("img.tar: OK");

        using var sbom = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, "img.spdx.json")));
        sbom.RootElement.GetProperty("spdxVersion").GetString().Should().Be("SPDX-2.3");
        sbom.RootElement.GetProperty("creationInfo").GetProperty("created").GetString().Should().Be("2025-11-24T16:00:00Z");
        var packages = sbom.RootElement.GetProperty("packages").EnumerateArray().ToList();
        var purls = packages.SelectMany(p => p.TryGetProperty("externalRefs", out var refs) ? refs.EnumerateArray() : [])
            .Select(r => r.GetProperty("referenceLocator").GetString()).ToList();
        purls.Should().Equal("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64", "pkg:deb/debian/systemd@1%3A252.30-1~deb12u2?arch=amd64");
        var element = packages.Single(p => p.GetProperty("name").GetString() == "os");
        element.GetProperty("checksums")[0].GetProperty("checksumValue").GetString().Should().MatchRegex("^[0-9a-f]{64}$");
        packages.Select(p => p.GetProperty("SPDXID").GetString()).Should().OnlyContain(id => System.Text.RegularExpressions.Regex.IsMatch(id!, "^SPDXRef-[A-Za-z0-9.-]+$"));
        sbom.RootElement.GetProperty("relationships").EnumerateArray().Select(r => r.GetProperty("relationshipType").GetString())
            .Should().Equal("DESCRIBES", "GENERATED_FROM", "CONTAINS", "CONTAINS");

        var manifestText = File.ReadAllText(Path.Combine(_out, "img.manifest.json"));
        manifestText.Should().NotContain("hunter2", "a knob named like a secret is not recorded");
        using var manifest = JsonDocument.Parse(manifestText);
        manifest.RootElement.GetProperty("treeSha256").GetString().Should().Be(result.TreeSha256);
        manifest.RootElement.GetProperty("settings").GetProperty("DIB_GUEST_MEMORY").GetString().Should().Be("512M");
        manifest.RootElement.GetProperty("sbom").GetProperty("packages").GetInt32().Should().Be(2);
        manifest.RootElement.GetProperty("cacheUsed").GetString().Should().Be("none");

        (await ReadFromTarAsync("./etc/machine-id")).Should().BeEmpty("an image must not share one machine-id with all its instances");
        (await ReadFromTarAsync("./etc/iscsi/initiatorname.iscsi")).Should().Be("GenerateName=yes\n", "nor one iSCSI initiator name");
        File.ReadAllLines(Path.Combine(_out, "img.tree.txt")).Should().OnlyContain(l => l.Split(' ')[4] == "1764000000", "every time is clamped");

        // The same inputs again, with the cache bypassed: the same tree, entry for entry.
        var again = await new ImageBuild(Request(1_764_000_000, "img2") with { NoCache = true }).RunAsync(CancellationToken.None);
        again.TreeSha256.Should().Be(result.TreeSha256);
    }
}
