using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// A content-addressed cache of the tree root.d leaves (debootstrap and the OS element's base install: most of a
/// cold build). The key is a hash of everything root.d can see that decides its result: the merged <c>root.d</c>,
/// <c>environment.d</c> and <c>bin</c> hooks (paths, modes, contents), the architecture and every <c>DIB_*</c> knob
/// except the ones that only say where or how verbosely to build. Anything else in the hook tree may change freely:
/// later phases run on the restored tree as usual. Entries are <c>tar | zstd</c> files written atomically; what root.d
/// mounted inside the tree (DIB's shared apt cache) is left out.
/// </summary>
public sealed class RootCache(string directory)
{
    private static readonly string[] KeyedHookDirectories = ["root.d", "environment.d", "bin"];
    private static readonly HashSet<string> UnkeyedKnobs = new(StringComparer.Ordinal)
    {
        "DIB_ARGS", "DIB_ENV", "DIB_DEBUG_TRACE", "DIB_IMAGE_CACHE", "DIB_LOCKFILES", "DIB_NO_TMPFS", "DIB_MIN_TMPFS", "DIB_CHECKSUM",
    };

    public string Directory { get; } = directory;

    public string PathFor(string key) => System.IO.Path.Combine(Directory, $"root-{key}.tar.zst");

    public static string Key(string hooks, IReadOnlyDictionary<string, string> environment)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add("trove-guest-image root cache v1");
        Add("ARCH=" + environment.GetValueOrDefault("ARCH"));
        foreach (var (name, value) in environment.Where(kv => kv.Key.StartsWith("DIB_", StringComparison.Ordinal) && !UnkeyedKnobs.Contains(kv.Key))
                     .OrderBy(kv => kv.Key, StringComparer.Ordinal))
            Add($"{name}={value}");
        foreach (var dir in KeyedHookDirectories)
        {
            var root = System.IO.Path.Combine(hooks, dir);
            if (!System.IO.Directory.Exists(root)) continue;
            foreach (var file in System.IO.Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(file);
                var relative = System.IO.Path.GetRelativePath(hooks, file);
                if (info.LinkTarget is { } link) Add($"L {relative} -> {link}");
                else if (info.Exists) Add($"F {relative} {(int)info.UnixFileMode} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))}");
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset())[..32].ToLowerInvariant();
    }

    /// <summary>Extracts the cached tree into the (empty) root; false when there is no entry.</summary>
    public async Task<bool> TryRestoreAsync(string key, string root, CancellationToken ct)
    {
        var entry = PathFor(key);
        if (!File.Exists(entry)) return false;
        await HostTools.RunAsync("restoring the root cache", "tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -d -T0", "-C", root, "-xpf", entry], ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Saves the tree, minus the contents of whatever is mounted inside it.</summary>
    public async Task SaveAsync(string key, string root, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var entry = PathFor(key);
        var partial = entry + ".partial-" + Environment.ProcessId;
        var excludes = ChrootMounts.MountsUnder(root).Where(m => m != System.IO.Path.GetFullPath(root).TrimEnd('/'))
            .Select(m => $"--exclude=./{System.IO.Path.GetRelativePath(root, m)}/*");
        try
        {
            await HostTools.RunAsync("saving the root cache", "tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--sort=name", "-I", "zstd -3 -T0", "-C", root,
                .. excludes, "-cf", partial, "."], ct).ConfigureAwait(false);
            File.Move(partial, entry, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
