using System.Security.Cryptography;
using System.Text;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Backups.Encryption;

/// <summary>
/// OpenSSL's salted <c>enc</c> format as Trove writes and reads backups since Victoria (guest-contract §6.3):
/// <c>Salted__</c>, an 8-byte salt, then AES-256-CBC with PKCS#7 padding; key and IV are
/// PBKDF2-HMAC-SHA512(passphrase, salt, 10000 iterations, 48 bytes), i.e. <c>openssl enc -aes-256-cbc -md sha512
/// -pbkdf2 -iter 10000 -salt -pass pass:KEY</c>.
/// </summary>
public static class OpenSslCbcFormat
{
    private const int Iterations = 10_000;
    private static readonly byte[] Magic = "Salted__"u8.ToArray();

    /// <summary>The ciphertext of <paramref name="plain"/>, as a stream read on demand.</summary>
    public static Stream Encrypt(Stream plain, string passphrase)
    {
        var salt = RandomNumberGenerator.GetBytes(8);
        using var aes = Create(passphrase, salt);
        var header = Magic.Concat(salt).ToArray();
        return new PrefixedStream(header, new CryptoStream(plain, aes.CreateEncryptor(), CryptoStreamMode.Read));
    }

    /// <summary>The plaintext of an OpenSSL-salted stream; a wrong passphrase surfaces as a padding error at the end.</summary>
    public static async Task<Stream> DecryptAsync(Stream cipher, string passphrase, CancellationToken ct)
    {
        var header = new byte[16];
        if (await cipher.ReadFullyAsync(header, ct).ConfigureAwait(false) != 16 || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException("not an OpenSSL-encrypted backup (no 'Salted__' header)");
        using var aes = Create(passphrase, header[8..]);
        return new CryptoStream(cipher, aes.CreateDecryptor(), CryptoStreamMode.Read);
    }

    private static Aes Create(string passphrase, byte[] salt)
    {
        var material = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(passphrase), salt, Iterations, HashAlgorithmName.SHA512, 48);
        var aes = Aes.Create();
        aes.Mode = CipherMode.CBC;
        aes.Padding = PaddingMode.PKCS7;
        aes.Key = material[..32];
        aes.IV = material[32..];
        return aes;
    }
}
