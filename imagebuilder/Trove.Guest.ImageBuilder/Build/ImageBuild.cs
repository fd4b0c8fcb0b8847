using System.Diagnostics;
using Trove.Guest.ImageBuilder.Disk;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Hooks;
using Trove.Guest.ImageBuilder.SupplyChain;
using Trove.Guest.ImageBuilder.Templates;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>What to build: elements, outputs and the knobs of <c>trove-guest-image build</c>.</summary>
public sealed record BuildRequest
{
    public required IReadOnlyList<string> Elements { get; init; }
    public required string Output { get; init; }
    public IReadOnlyList<string> Types { get; init; } = ["tar"];
    public bool SkipBase { get; init; }
    public string? ElementsPath { get; init; }
    public IEnumerable<string> BuiltInElements { get; init; } = [];

    /// <summary>Where element templates are looked up after the element's own <c>templates/</c> folder (our <c>templates/</c>).</summary>
    public IReadOnlyList<string> TemplateDirectories { get; init; } = [];
    public BuildSettings Settings { get; init; } = new();
    public string? WorkDirectory { get; init; }
    public bool KeepBuildDirectory { get; init; }

    /// <summary>The environment hooks inherit (every <c>DIB_*</c> knob comes from it); by default this process's.</summary>
    public System.Collections.IDictionary? Environment { get; init; }

    /// <summary><c>--no-cache</c>: run every phase, whatever the cache holds (a fresh result still refreshes it).</summary>
    public bool NoCache { get; init; }

    /// <summary><c>--image-size</c>: the root file system's size; by default the tree's size with DIB's head room.</summary>
    public long? ImageSizeBytes { get; init; }
}

/// <summary>A finished build: its images, the records beside them (tree listing, SBOM, manifest, checksums), the tree hash, and each script's and step's time.</summary>
public sealed record BuildResult(IReadOnlyList<string> Files, IReadOnlyList<string> Records, string TreeSha256, IReadOnlyList<ScriptRun> Scripts,
    IReadOnlyList<(string Step, TimeSpan Elapsed)> Steps);

/// <summary>
/// One image build in DIB's order (DIB 1.9): expand the elements, merge their hooks, then root.d and extra-data.d
/// outside the tree, pre-install, install and post-install inside it, post-root outside, then the finalising phases,
/// DIB's final tidy, and the outputs. The tree is a plain directory throughout; every mount under the build directory
/// is taken down at the end, also when a phase fails or the build is cancelled.
/// </summary>
public sealed class ImageBuild(BuildRequest request, IBuildProgress? progress = null)
{
    private readonly List<(string, TimeSpan)> _steps = [];

    public async Task<BuildResult> RunAsync(CancellationToken ct)
    {
        foreach (var type in request.Types)
            if (type != "tar" && !ImageFormats.IsDiskType(type)) throw new NotSupportedException($"output type '{type}' is not supported (tar, raw, qcow2, vhdx)");
        // The boot loaders written are GRUB's i386-pc and x86_64-efi; a tree for another architecture is still a tar.
        if (request.Types.Any(ImageFormats.IsDiskType) && request.Settings.Arch is not ("amd64" or "x86_64"))
            throw new NotSupportedException($"bootable disks are built for amd64 only, not '{request.Settings.Arch}'; -t tar builds a tree for any architecture the elements support");
        var library = ElementLibrary.Load(request.ElementsPath, request.BuiltInElements);
        var resolved = ElementResolver.Resolve(library, ElementResolver.WithDefaults(request.Elements, request.SkipBase));
        var layout = BuildLayout.Create(request.WorkDirectory);
        var scripts = new List<ScriptRun>();
        try
        {
            Step("hooks", () =>
            {
                var owners = HookTree.Assemble(resolved.Elements, layout.Hooks);
                progress?.HooksAssembled(owners);
                // What disk-image-create adds to every build's environment.d.
                Directory.CreateDirectory(Path.Combine(layout.Hooks, "environment.d"));
                File.WriteAllText(Path.Combine(layout.Hooks, "environment.d", "11-dib-install-type.bash"),
                    "export DIB_DEFAULT_INSTALLTYPE=${DIB_DEFAULT_INSTALLTYPE:-\"source\"}\n");
            });
            var env = BuildEnvironment.For(layout, resolved, library, request.Settings with { ImageName = request.Output }, request.Environment);
            Directory.CreateDirectory(request.Settings.ImageCache);
            var cache = new TreeCache(Path.Combine(request.Settings.ImageCache, "trove-guest"));

            // The finished tree comes from the cache when no hook and no knob changed; else the phases run.
            // SOURCE_DATE_EPOCH changes the finished tree (its timestamps), so it is part of that stage's key.
            var epoch = request.Settings.SourceDateEpoch;
            var templates = ElementTemplates.Find(resolved.Elements, request.TemplateDirectories);
            var imageKey = TreeCache.Key(TreeStage.Image, layout.Hooks, env, $"SOURCE_DATE_EPOCH={epoch}", ElementTemplates.InputsHash(templates));
            var cacheUsed = "image";
            var treeListing = request.Output + ".tree.txt";
            string treeHash;
            if (!request.NoCache && await TimedAsync("tree (cached)", () => cache.TryRestoreAsync(TreeStage.Image, imageKey, layout.Root, ct)).ConfigureAwait(false))
            {
                progress?.Output(Phase.Named("root"), null, $"every phase skipped: restored {cache.PathFor(TreeStage.Image, imageKey)}");
                // The restored tree is the saved one, entry for entry: its listing was saved with it.
                treeHash = File.Exists(cache.ListingFor(TreeStage.Image, imageKey))
                    ? await TimedAsync("tree hash (cached)", () => { File.Copy(cache.ListingFor(TreeStage.Image, imageKey), treeListing, overwrite: true); return Task.FromResult(ContentHash.OfFile(treeListing)); }).ConfigureAwait(false)
                    : await TimedAsync("tree hash", () => TreeDigest.WriteAsync(layout.Root, treeListing, ct)).ConfigureAwait(false);
            }
            else
            {
                cacheUsed = await RunPhasesAsync(layout, env, cache, templates, resolved.Names.ToList(), scripts, ct).ConfigureAwait(false);
                Step("tidy", () => FinalTidy(layout.Root));
                if (epoch is { } clampTo) await TimedAsync("clamp timestamps", () => ReproducibleTree.ClampTimestampsAsync(layout.Root, clampTo, ct)).ConfigureAwait(false);
                treeHash = await TimedAsync("tree hash", () => TreeDigest.WriteAsync(layout.Root, treeListing, ct)).ConfigureAwait(false);
                await TimedAsync("tree (saved to cache)", () => cache.SaveAsync(TreeStage.Image, imageKey, layout.Root, ct, treeListing)).ConfigureAwait(false);
            }
            progress?.Output(Phase.Named("cleanup"), null, $"tree sha256 {treeHash}");
            var files = new List<string>();
            foreach (var type in request.Types.Where(t => t == "tar"))
                files.Add(await TimedAsync("output tar", () => WriteTarAsync(layout.Root, ct)).ConfigureAwait(false));
            var diskTypes = request.Types.Where(t => t != "tar").ToList();
            if (diskTypes.Count > 0)
            {
                var raw = request.Output + ".raw";
                await TimedAsync("disk", () => DiskAssembler.AssembleAsync(layout.Root, raw, new DiskOptions
                {
                    RootLabel = request.Settings.RootLabel, WriteBootConfig = true, RootBytes = request.ImageSizeBytes,
                    // The same tree gives the same disk ids, wherever and under whatever name it is built.
                    Seed = epoch is { } sde ? $"{treeHash}|{sde}" : Guid.NewGuid().ToString(),
                    SourceDateEpoch = epoch,
                }, ct)).ConfigureAwait(false);
                foreach (var type in diskTypes.Where(t => t != "raw"))
                    files.Add(await TimedAsync($"output {type}", () => ImageFormats.ConvertAsync(raw, type, request.Output, ct)).ConfigureAwait(false));
                if (diskTypes.Contains("raw")) files.Add(raw);
                else File.Delete(raw);
            }
            var records = await TimedAsync("sbom and manifest", () => Task.FromResult(BuildRecords.Write(new BuildFacts(
                request.Output, layout.Root, resolved.Elements, files, treeHash, treeListing, epoch, cacheUsed, _steps, env)))).ConfigureAwait(false);
            return new BuildResult(files, [treeListing, .. records], treeHash, scripts, _steps);
        }
        finally
        {
            await ChrootMounts.UnmountAllAsync(layout.BuildDirectory).ConfigureAwait(false);
            if (!request.KeepBuildDirectory) Directory.Delete(layout.BuildDirectory, recursive: true);
        }
    }

    /// <summary>Every phase in DIB's order, from an empty tree (or root.d's cached result) to the finished tree.</summary>
    /// <returns>Which cache it used: "root" or "none".</returns>
    private async Task<string> RunPhasesAsync(BuildLayout layout, IReadOnlyDictionary<string, string> env, TreeCache cache, IReadOnlyList<TemplateFile> templates,
        IReadOnlyList<string> elementNames, List<ScriptRun> scripts, CancellationToken ct)
    {
        var runner = new PhaseRunner(env, progress);

        async Task Outside(string phase) => scripts.AddRange(await TimedAsync(phase, () => runner.RunAsync(Phase.Named(phase), layout.Hooks, ct)).ConfigureAwait(false));
        async Task Inside(string[] phases, Func<Task>? before = null, Func<Task>? after = null)
        {
            await using var mounts = await ChrootMounts.MountAsync(layout.Root, layout.Hooks, ct).ConfigureAwait(false);
            if (before is not null) await before().ConfigureAwait(false);
            foreach (var phase in phases)
                scripts.AddRange(await TimedAsync(phase, () => runner.RunInChrootAsync(Phase.Named(phase), layout.Root, layout.Hooks, ct)).ConfigureAwait(false));
            if (after is not null) await after().ConfigureAwait(false);
        }

        // root.d's result comes from the cache when nothing that decides it changed.
        var rootKey = TreeCache.Key(TreeStage.Root, layout.Hooks, env);
        var cacheUsed = "none";
        if (!request.NoCache && await TimedAsync("root (cached)", () => cache.TryRestoreAsync(TreeStage.Root, rootKey, layout.Root, ct)).ConfigureAwait(false))
        {
            progress?.Output(Phase.Named("root"), null, $"root.d skipped: restored {cache.PathFor(TreeStage.Root, rootKey)}");
            cacheUsed = "root";
        }
        else
        {
            InstallTuning.PrepareEmptyRoot(layout.Root);
            await Outside("root").ConfigureAwait(false);
            if (InstallTuning.HasTree(layout.Root))
                await TimedAsync("root (saved to cache)", () => cache.SaveAsync(TreeStage.Root, rootKey, layout.Root, ct)).ConfigureAwait(false);
        }
        if (!InstallTuning.HasTree(layout.Root))
            throw new InvalidOperationException("root.d left the image's root empty: no element created a file system (an operating-system element's root.d does)");
        await Outside("extra-data").ConfigureAwait(false);
        var tuned = InstallTuning.Applies(layout.Root);
        await Inside(["pre-install", "install", "post-install"], before: tuned ? () => InstallTuning.BeginAsync(layout.Root, ct) : null).ConfigureAwait(false);
        if (templates.Count > 0) Step("templates", () => ElementTemplates.Render(templates, layout.Root, env, elementNames));
        await Outside("post-root").ConfigureAwait(false);
        // Mounts some root.d hooks make inside the tree (DIB's shared apt cache) end with the build steps that used them.
        await ChrootMounts.UnmountAllAsync(layout.Root).ConfigureAwait(false);
        await Outside("pre-finalise").ConfigureAwait(false);
        await Inside(["finalise"], after: !tuned ? null : () => TimedAsync("initramfs (once)", async () =>
        {
            // The initramfs copies some of that state (open-iscsi's initiator name).
            ReproducibleTree.RemovePerBuildState(layout.Root);
            foreach (var line in (await InstallTuning.EndAsync(layout.Root, ct).ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                progress?.Output(Phase.Named("finalise"), null, line);
        })).ConfigureAwait(false);
        await Outside("cleanup").ConfigureAwait(false);
        await ChrootMounts.UnmountAllAsync(layout.Root).ConfigureAwait(false);
        InstallTuning.Remove(layout.Root);
        return cacheUsed;
    }

    /// <summary>DIB's finalise_base (an empty /tmp, empty log files, no logs in /root), and no per-build state.</summary>
    private static void FinalTidy(string root)
    {
        ReproducibleTree.RemovePerBuildState(root);
        var tmp = Path.Combine(root, "tmp");
        if (Directory.Exists(tmp))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(tmp))
            {
                if (Directory.Exists(entry) && new DirectoryInfo(entry).LinkTarget is null) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
            }
        }
        var log = Path.Combine(root, "var", "log");
        if (Directory.Exists(log))
        {
            foreach (var file in Directory.EnumerateFiles(log, "*", SearchOption.AllDirectories))
                if (new FileInfo(file).LinkTarget is null) File.WriteAllBytes(file, []);
        }
        var home = Path.Combine(root, "root");
        if (Directory.Exists(home))
            foreach (var file in Directory.EnumerateFiles(home, "*.log")) File.Delete(file);
    }

    private async Task<string> WriteTarAsync(string root, CancellationToken ct)
    {
        var tar = request.Output + ".tar";
        await HostTools.RunAsync("tar output", "tar", ["--numeric-owner", "--xattrs", "--sort=name", "-C", root,
            "--exclude=./proc/*", "--exclude=./sys/*", "-cf", tar, "."], ct).ConfigureAwait(false);
        return tar;
    }

    private void Step(string name, Action action)
    {
        progress?.StepStarted(name);
        var watch = Stopwatch.StartNew();
        action();
        _steps.Add((name, watch.Elapsed));
        progress?.StepEnded(name, watch.Elapsed);
    }

    private Task TimedAsync(string name, Func<Task> action) => TimedAsync(name, async () =>
    {
        await action().ConfigureAwait(false);
        return true;
    });

    private async Task<T> TimedAsync<T>(string name, Func<Task<T>> action)
    {
        progress?.StepStarted(name);
        var watch = Stopwatch.StartNew();
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            _steps.Add((name, watch.Elapsed));
            progress?.StepEnded(name, watch.Elapsed);
        }
    }
}
