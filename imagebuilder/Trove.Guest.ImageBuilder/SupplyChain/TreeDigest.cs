using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.ImageBuilder.SupplyChain;

/// <summary>
/// The root tree's identity: one line per entry (content hash, type, mode, owner, mtime, path, link target), sorted
/// by path, and the SHA-256 of that listing. Two builds have the same tree hash exactly when their trees match in
/// everything a file system image records; their listings, diffed, show which files differ.
/// </summary>
public static class TreeDigest
{
    /// <summary>Writes the listing to <paramref name="listingPath"/> and returns the tree hash.</summary>
    public static async Task<string> WriteAsync(string root, string listingPath, CancellationToken ct)
    {
        // find gives owners and modes, which .NET's file APIs do not; content hashes are ours.
        var output = await HostTools.RunAsync("hashing the tree", "find", [root, "-mindepth", "1", "-printf", "%y\t%m\t%U:%G\t%T@\t%P\t%l\\0"], ct).ConfigureAwait(false);
        var entries = output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(e => e.Split('\t')).OrderBy(f => f[4], StringComparer.Ordinal).ToList();
        var lines = new string[entries.Count];
        Parallel.For(0, entries.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var f = entries[i];
            var content = f[0] == "f" ? ContentHash.OfFile(Path.Combine(root, f[4])) : "-";
            var mtime = long.Parse(f[3].Split('.')[0], CultureInfo.InvariantCulture);
            lines[i] = $"{content} {f[0]} {f[1]} {f[2]} {mtime} {f[4]}{(f[0] == "l" ? " -> " + f[5] : "")}";
        });
        var listing = string.Join('\n', lines) + "\n";
        await File.WriteAllTextAsync(listingPath, listing, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing)));
    }
}
