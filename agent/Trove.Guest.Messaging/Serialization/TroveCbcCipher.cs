using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.Messaging.Serialization;

/// <summary>
/// Trove's <c>crypto_utils.encrypt_data</c>/<c>decrypt_data</c> + base64 (guest-contract §5.2): AES-256-CBC whose
/// key is the 32 ASCII characters of the lower-case MD5 hex of the instance key, a random 16-byte IV in front of the
/// ciphertext, PKCS#7 padding. There is no MAC: use it only to talk to Python peers.
/// </summary>
public sealed class TroveCbcCipher : IPayloadCipher
{
    private const int IvBytes = 16;
    private readonly byte[] _key;
    private readonly Func<byte[]> _newIv;

    public TroveCbcCipher(string instanceKey) : this(instanceKey, () => RandomNumberGenerator.GetBytes(IvBytes))
    {
    }

    /// <summary>With a fixed IV source: only for reproducing the spec's vectors.</summary>
    internal TroveCbcCipher(string instanceKey, Func<byte[]> newIv)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceKey);
        var md5Hex = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(instanceKey)));
        _key = Encoding.ASCII.GetBytes(md5Hex);
        _newIv = newIv;
    }

    public bool IsAuthenticated => false;

    public string Encrypt(string plaintext)
    {
        var iv = _newIv();
        using var aes = Aes.Create();
        aes.Key = _key;
        var cipher = aes.EncryptCbc(Encoding.UTF8.GetBytes(plaintext), iv, PaddingMode.PKCS7);
        var output = new byte[iv.Length + cipher.Length];
        iv.CopyTo(output, 0);
        cipher.CopyTo(output, iv.Length);
        return Convert.ToBase64String(output);
    }

    public bool TryDecrypt(string token, out string plaintext)
    {
        plaintext = "";
        byte[] data;
        try
        {
            data = Convert.FromBase64String(token);
        }
        catch (FormatException)
        {
            return false;
        }
        if (data.Length < IvBytes * 2 || (data.Length - IvBytes) % IvBytes != 0) return false;
        byte[] padded;
        using (var aes = Aes.Create())
        {
            aes.Key = _key;
            padded = aes.DecryptCbc(data.AsSpan(IvBytes), data.AsSpan(0, IvBytes), PaddingMode.None);
        }
        // Python strips as many bytes as the last byte says without checking them; we refuse impossible
        // padding instead of handing back garbage, which is what a wrong key almost always produces.
        var pad = padded[^1];
        if (pad is 0 or > IvBytes) return false;
        for (var i = padded.Length - pad; i < padded.Length; i++)
        {
            if (padded[i] != pad) return false;
        }
        try
        {
            plaintext = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(padded, 0, padded.Length - pad);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
