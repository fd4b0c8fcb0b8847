using System.Security.Cryptography;
using System.Text;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Backups.Encryption;

/// <summary>
/// OpenSSL's salted <c>enc</c> format of Trove's backups (guest-contract §6.3): <c>Salted__</c>, an 8-byte salt, then
/// AES-256-CBC with PKCS#7 padding. We write what Trove writes since Victoria: key and IV =
/// PBKDF2-HMAC-SHA512(passphrase, salt, 10000, 48 bytes) (<c>openssl enc -aes-256-cbc -md sha512 -pbkdf2 -iter 10000</c>).
/// We read that and the older <c>openssl enc -aes-256-cbc -salt</c> backups of Queens..Ussuri, whose key comes from
/// <c>EVP_BytesToKey</c> with MD5 (OpenSSL ≤ 1.0.2) or SHA-256 (≥ 1.1.0). Nothing in the file says which: the first
/// block is decrypted with each and the one that yields a known stream start (gzip, zstd, xbstream) wins.
/// </summary>
public static class OpenSslCbcFormat
{
    private const int Iterations = 10_000;
    private static readonly byte[] Magic = "Salted__"u8.ToArray();

    /// <summary>Stream starts a Trove backup can have under its encryption: gzip, zstd, a raw xbstream.</summary>
    private static readonly byte[][] KnownStarts = [[0x1f, 0x8b], [0x28, 0xb5, 0x2f, 0xfd], "XBSTCK01"u8.ToArray()];

    private enum Kdf
    {
        Pbkdf2Sha512,
        EvpSha256,
        EvpMd5,
    }

    /// <summary>The ciphertext of <paramref name="plain"/>, as a stream read on demand.</summary>
    public static Stream Encrypt(Stream plain, string passphrase)
    {
        var salt = RandomNumberGenerator.GetBytes(8);
        using var aes = Create(passphrase, salt, Kdf.Pbkdf2Sha512);
        var header = Magic.Concat(salt).ToArray();
        return new PrefixedStream(header, new CryptoStream(plain, aes.CreateEncryptor(), CryptoStreamMode.Read));
    }

    /// <summary>The plaintext of an OpenSSL-salted stream; a wrong passphrase is refused before any data flows.</summary>
    public static async Task<Stream> DecryptAsync(Stream cipher, string passphrase, CancellationToken ct)
    {
        var header = new byte[32];
        var read = await cipher.ReadFullyAsync(header, ct).ConfigureAwait(false);
        if (read < 16 || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException("not an OpenSSL-encrypted backup (no 'Salted__' header)");
        var salt = header[8..16];
        var first = header[16..read];
        if (first.Length < 16) return Decryptor(new MemoryStream(first), passphrase, salt, Kdf.Pbkdf2Sha512);
        foreach (var kdf in Enum.GetValues<Kdf>())
        {
            using var aes = Create(passphrase, salt, kdf);
            var block = aes.DecryptCbc(first, aes.IV, PaddingMode.None);
            if (KnownStarts.Any(s => block.AsSpan().StartsWith(s)))
                return Decryptor(new PrefixedStream(first, cipher), passphrase, salt, kdf);
        }
        throw new CryptographicException("the backup does not decrypt with backup_aes_cbc_key (tried PBKDF2-SHA512, and EVP_BytesToKey with SHA-256 and MD5)");
    }

    private static CryptoStream Decryptor(Stream cipher, string passphrase, byte[] salt, Kdf kdf)
    {
        using var aes = Create(passphrase, salt, kdf);
        return new CryptoStream(cipher, aes.CreateDecryptor(), CryptoStreamMode.Read);
    }

    private static Aes Create(string passphrase, byte[] salt, Kdf kdf)
    {
        var password = Encoding.UTF8.GetBytes(passphrase);
        var material = kdf switch
        {
            Kdf.Pbkdf2Sha512 => Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA512, 48),
            Kdf.EvpSha256 => EvpBytesToKey(password, salt, SHA256.HashData),
            _ => EvpBytesToKey(password, salt, MD5.HashData),
        };
        var aes = Aes.Create();
        aes.Mode = CipherMode.CBC;
        aes.Padding = PaddingMode.PKCS7;
        aes.Key = material[..32];
        aes.IV = material[32..48];
        return aes;
    }

    /// <summary>OpenSSL's EVP_BytesToKey with one iteration: D1 = md(pass || salt), Di = md(Di-1 || pass || salt), concatenated.</summary>
    private static byte[] EvpBytesToKey(byte[] password, byte[] salt, Func<byte[], byte[]> md)
    {
        var material = new List<byte>();
        var previous = Array.Empty<byte>();
        while (material.Count < 48)
        {
            previous = md([.. previous, .. password, .. salt]);
            material.AddRange(previous);
        }
        return [.. material];
    }
}
