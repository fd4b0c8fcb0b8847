using System.Security.Cryptography;
using Trove.Guest.ImageBuilder.SupplyChain;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// A stage of the build whose resulting tree can be cached: its name, which hook directories decide it (null: the whole
/// hook tree), and how long an entry may be reused.
/// </summary>
public sealed record TreeStage(string Name, IReadOnlyList<string>? KeyedHookDirectories, TimeSpan MaxAge)
{
    /// <summary>
    /// What root.d leaves (debootstrap and the OS element's base install): decided by root.d, environment.d and bin only,
    /// so any change to later phases still reuses it. Kept 30 days, as a debootstrap tarball would be.
    /// </summary>
    public static readonly TreeStage Root = new("root", ["root.d", "environment.d", "bin"], TimeSpan.FromDays(30));

    /// <summary>
    /// The finished tree, before disk assembly: decided by every hook. Seven days at most, so that a routine rebuild
    /// still picks up the distribution's security updates within a week; <c>--no-cache</c> refreshes it at once.
    /// </summary>
    public static readonly TreeStage Image = new("image", null, TimeSpan.FromDays(7));
}

/// <summary>
/// A content-addressed cache of build trees. A key hashes everything a stage's hooks can see that decides its result:
/// the keyed hook files (paths, modes, contents), the architecture and every <c>DIB_*</c> knob except the ones that only
/// say where or how verbosely to build. A knob that names an existing file or folder by its absolute path (an element's
/// input, such as the agent binary <c>DIB_TROVE_GUEST_AGENT</c>) is keyed by that content too: a rebuilt input at the
/// same path must not be served the old tree. Entries are <c>tar | zstd</c> files written atomically; what hooks mounted
/// inside the tree (DIB's shared apt cache) is left out.
/// </summary>
public sealed class TreeCache(string directory)
{
    // Bumped whenever what the builder itself does to a tree changes (e.g. InstallTuning), which no hook hash sees.
    private const string Version = "trove-guest-image tree cache v4";

    private static readonly HashSet<string> UnkeyedKnobs = new(StringComparer.Ordinal)
    {
        "DIB_ARGS", "DIB_ENV", "DIB_DEBUG_TRACE", "DIB_IMAGE_CACHE", "DIB_LOCKFILES", "DIB_NO_TMPFS", "DIB_MIN_TMPFS", "DIB_CHECKSUM",
    };

    public string Directory { get; } = directory;

    public string PathFor(TreeStage stage, string key) => System.IO.Path.Combine(Directory, $"{stage.Name}-{key}.tar.zst");

    /// <param name="also">Further inputs the caller's own steps add to the stage (e.g. SOURCE_DATE_EPOCH for the clamped tree).</param>
    /// <summary>The tree listing (<see cref="SupplyChain.TreeDigest"/>) saved with an entry, so a restore need not hash the tree again.</summary>
    public string ListingFor(TreeStage stage, string key) => System.IO.Path.Combine(Directory, $"{stage.Name}-{key}.tree.txt");

    public static string Key(TreeStage stage, string hooks, IReadOnlyDictionary<string, string> environment, params string[] also)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => ContentHash.AddLine(hash, text);
        Add(Version);
        Add("stage " + stage.Name);
        foreach (var input in also) Add(input);
        Add("ARCH=" + environment.GetValueOrDefault("ARCH"));
        foreach (var (name, value) in environment.Where(kv => kv.Key.StartsWith("DIB_", StringComparison.Ordinal) && !UnkeyedKnobs.Contains(kv.Key))
                     .OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Add($"{name}={value}");
            AddInputContent(hash, value);
        }
        foreach (var root in stage.KeyedHookDirectories?.Select(d => System.IO.Path.Combine(hooks, d)) ?? [hooks])
            ContentHash.AddDirectory(hash, root, hooks);
        return Convert.ToHexString(hash.GetHashAndReset())[..32].ToLowerInvariant();
    }

    /// <summary>The largest folder a knob may name and still be keyed by its content (an element's input, not a system folder).</summary>
    private const int MaxInputFolderFiles = 2000;

    private static readonly string[] SystemFolders = ["/proc", "/sys", "/dev", "/run"];

    private static void AddInputContent(IncrementalHash hash, string value)
    {
        if (!System.IO.Path.IsPathFullyQualified(value) || value == "/" || SystemFolders.Any(f => value == f || value.StartsWith(f + "/", StringComparison.Ordinal))) return;
        if (File.Exists(value))
        {
            ContentHash.AddLine(hash, "content " + ContentHash.OfFile(value));
            return;
        }
        if (!System.IO.Directory.Exists(value)) return;
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        if (System.IO.Directory.EnumerateFiles(value, "*", options).Take(MaxInputFolderFiles + 1).Count() <= MaxInputFolderFiles)
            ContentHash.AddDirectory(hash, value, value);
    }

    /// <summary>Extracts the cached tree into the (empty) root; false when there is no entry young enough.</summary>
    public async Task<bool> TryRestoreAsync(TreeStage stage, string key, string root, CancellationToken ct)
    {
        var entry = PathFor(stage, key);
        if (!File.Exists(entry) || DateTime.UtcNow - File.GetLastWriteTimeUtc(entry) > stage.MaxAge) return false;
        await HostTools.RunAsync($"restoring the {stage.Name} cache", "tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -d -T0", "-C", root, "-xpf", entry], ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Saves the tree, minus the contents of whatever is mounted inside it, and its listing when given.</summary>
    public async Task SaveAsync(TreeStage stage, string key, string root, CancellationToken ct, string? listing = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var entry = PathFor(stage, key);
        var partial = entry + ".partial-" + Environment.ProcessId;
        var excludes = ChrootMounts.MountsUnder(root).Where(m => m != System.IO.Path.GetFullPath(root).TrimEnd('/'))
            .Select(m => $"--exclude=./{System.IO.Path.GetRelativePath(root, m)}/*");
        try
        {
            // Level 1: a save is on every cold build's path, and a faster level costs little size on a file system tree.
            await HostTools.RunAsync($"saving the {stage.Name} cache", "tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--sort=name", "-I", "zstd -1 -T0", "-C", root,
                .. excludes, "-cf", partial, "."], ct).ConfigureAwait(false);
            if (listing is not null) File.Copy(listing, ListingFor(stage, key) + ".partial", overwrite: true);
            File.Move(partial, entry, overwrite: true);
            if (listing is not null) File.Move(ListingFor(stage, key) + ".partial", ListingFor(stage, key), overwrite: true);
            else File.Delete(ListingFor(stage, key));
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
