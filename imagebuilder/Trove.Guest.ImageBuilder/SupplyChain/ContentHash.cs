using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.ImageBuilder.SupplyChain;

/// <summary>SHA-256 of files and of directory contents (paths, modes, link targets, bytes; sorted), the one way the builder hashes content.</summary>
public static class ContentHash
{
    public static string OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static async Task<string> OfFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
    }

    /// <summary>Adds every entry under <paramref name="directory"/> to <paramref name="hash"/>, named relative to <paramref name="relativeTo"/>.</summary>
    public static void AddDirectory(IncrementalHash hash, string directory, string relativeTo)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(entry);
            var relative = Path.GetRelativePath(relativeTo, entry);
            if (info.LinkTarget is { } link) AddLine(hash, $"L {relative} -> {link}");
            else if (info.Exists) AddLine(hash, $"F {relative} {(int)info.UnixFileMode} {OfFile(entry)}");
        }
    }

    public static string OfDirectory(string directory)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AddDirectory(hash, directory, directory);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static void AddLine(IncrementalHash hash, string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
}
