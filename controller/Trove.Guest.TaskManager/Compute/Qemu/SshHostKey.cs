using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// One SSH public host key: its type (<c>ssh-ed25519</c>) and its wire blob (the base64 part of an OpenSSH line). Two
/// keys are the same key when both match byte for byte; the fingerprint is OpenSSH's <c>SHA256:...</c>.
/// </summary>
public sealed class SshHostKey
{
    private readonly byte[] _blob;

    private SshHostKey(string type, byte[] blob)
    {
        Type = type;
        _blob = blob;
    }

    public string Type { get; }

    public ReadOnlySpan<byte> Blob => _blob;

    /// <summary>OpenSSH's fingerprint (<c>ssh-keygen -l</c>): SHA256 of the blob, base64 without padding.</summary>
    public string Fingerprint => $"SHA256:{Convert.ToBase64String(SHA256.HashData(_blob)).TrimEnd('=')}";

    /// <summary>The OpenSSH line without a comment: <c>type base64</c>.</summary>
    public string OpenSshLine => $"{Type} {Convert.ToBase64String(_blob)}";

    /// <summary>An OpenSSH public key line (<c>type base64 [comment]</c>), as pinned in access.json.</summary>
    public static SshHostKey Parse(string line)
    {
        var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 2) throw new FormatException($"not an OpenSSH public key line: '{line}'");
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            throw new FormatException($"the key of '{parts[0]}' is not base64");
        }
        if (!ConsoleHostKeys.IsWellFormedBlob(parts[0], blob)) throw new FormatException($"not a well-formed {parts[0]} key");
        return new SshHostKey(parts[0], blob);
    }

    /// <summary>The key a server presented (its blob; the type is the blob's first string).</summary>
    public static SshHostKey FromBlob(byte[] blob)
    {
        var type = "unknown";
        if (blob.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(blob) is var length && length <= (uint)(blob.Length - 4))
            type = Encoding.ASCII.GetString(blob, 4, (int)length);
        return new SshHostKey(type, [.. blob]);
    }

    public bool SameKeyAs(SshHostKey other) => Type == other.Type && _blob.AsSpan().SequenceEqual(other._blob);

    public override string ToString() => $"{Type} {Fingerprint}";
}
