using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// The SSH host keys a guest printed on its serial console, in cloud-init's block:
/// <code>
/// -----BEGIN SSH HOST KEY KEYS-----
/// ssh-ed25519 AAAAC3Nza... root@host
/// -----END SSH HOST KEY KEYS-----
/// </code>
/// The console log is appended over reboots and its lines carry whatever the console put before them (a kernel
/// timestamp, <c>ci-info: </c>, stray carriage returns), so the markers and keys are found inside lines, and only
/// complete blocks count (one per boot; a block cut short by a reset is ignored). <see cref="Last"/> gives the keys
/// the guest has now, <see cref="First"/> the keys of its first boot.
/// Lines of the block that are not a well-formed key of a host key type (interleaved kernel messages, a key cut in the
/// middle, a blob whose inner type is not the declared one) are left out: only keys that parse are ever pinned.
/// </summary>
public static partial class ConsoleHostKeys
{
    public const string BeginMarker = "-----BEGIN SSH HOST KEY KEYS-----";
    public const string EndMarker = "-----END SSH HOST KEY KEYS-----";

    // The host key types sshd has (DSA is gone from OpenSSH, security keys are not host keys).
    // The type must start a word (after the console's prefix), and the base64 blob must end at a blank or the line's end:
    // "ssh-rsa AAAA[  13.1] random: ..." (a key interrupted by a kernel message) does not match.
    [GeneratedRegex(@"(?<![\w@.-])(?<type>ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+(?<blob>[A-Za-z0-9+/]+={0,2})(?:\s|$)",
        RegexOptions.CultureInvariant)]
    private static partial Regex KeyLine();

    /// <summary>
    /// The keys of the last complete block of <paramref name="consoleText"/> (the guest's current keys), as OpenSSH lines
    /// without a comment (<c>ssh-ed25519 AAAA...</c>), each once, in the order printed; empty when there is none.
    /// </summary>
    public static IReadOnlyList<string> Last(string consoleText) => Blocks(consoleText).LastOrDefault() ?? [];

    /// <summary>The keys of the first complete block (the guest's first boot), as <see cref="Last"/>.</summary>
    public static IReadOnlyList<string> First(string consoleText) => Blocks(consoleText).FirstOrDefault() ?? [];

    /// <summary>Reads the console log (which qemu may be appending to) and returns its last block's keys.</summary>
    public static IReadOnlyList<string> LastInFile(string consoleLog)
    {
        using var stream = new FileStream(consoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Last(reader.ReadToEnd());
    }

    /// <summary>Every complete block with at least one valid key, in the order printed.</summary>
    public static IEnumerable<IReadOnlyList<string>> Blocks(string consoleText)
    {
        List<string>? block = null;
        foreach (var rawLine in consoleText.Split('\n'))
        {
            var line = rawLine.Replace("\r", "", StringComparison.Ordinal);
            if (line.Contains(BeginMarker, StringComparison.Ordinal))
            {
                // A begin inside a block: the earlier one was cut short (a reset mid-print); start over.
                block = [];
                continue;
            }
            if (block is null) continue;
            if (line.Contains(EndMarker, StringComparison.Ordinal))
            {
                if (block.Count > 0) yield return block;
                block = null;
                continue;
            }
            if (TryParseKey(line, out var key) && !block.Contains(key)) block.Add(key);
        }
    }

    /// <summary>A well-formed host key somewhere in <paramref name="line"/>, as <c>type base64</c>.</summary>
    public static bool TryParseKey(string line, out string key)
    {
        key = "";
        var match = KeyLine().Match(line);
        if (!match.Success) return false;
        var type = match.Groups["type"].Value;
        var blob = match.Groups["blob"].Value;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(blob);
        }
        catch (FormatException)
        {
            return false;
        }
        if (!IsWellFormedBlob(type, bytes)) return false;
        key = $"{type} {blob}";
        return true;
    }

    /// <summary>
    /// The blob is SSH wire strings that fill it exactly, the first being <paramref name="type"/>, with the field count of
    /// the type (ed25519: a 32-byte key; RSA: e and n; ECDSA: the curve and the point).
    /// </summary>
    public static bool IsWellFormedBlob(string type, ReadOnlySpan<byte> blob)
    {
        var fields = new List<int>();
        string? innerType = null;
        while (!blob.IsEmpty)
        {
            if (blob.Length < 4) return false;
            var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
            if (length > (uint)(blob.Length - 4)) return false;
            var field = blob.Slice(4, (int)length);
            innerType ??= Encoding.ASCII.GetString(field);
            fields.Add(field.Length);
            blob = blob[(4 + (int)length)..];
        }
        if (innerType != type) return false;
        return type == "ssh-ed25519" ? fields is [_, 32] : fields is [_, > 0, > 0];
    }
}
