using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.Messaging.Serialization;

/// <summary>
/// The authenticated format for deployments where both ends are ours: <c>"gcm1:" + base64(nonce(12) ‖ ciphertext ‖ tag(16))</c>,
/// AES-256-GCM under a key derived from the instance key with HKDF-SHA256. Unlike Trove's CBC scheme, a flipped bit or a
/// wrong key is always detected.
/// </summary>
public sealed class AesGcmCipher : IPayloadCipher
{
    public const string Prefix = "gcm1:";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] KeyInfo = "trove-guest rpc aes-256-gcm v1"u8.ToArray();
    private readonly byte[] _key;

    public AesGcmCipher(string instanceKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceKey);
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(instanceKey), 32, salt: [], info: KeyInfo);
    }

    public bool IsAuthenticated => true;

    public string Encrypt(string plaintext)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[NonceBytes + plain.Length + TagBytes];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key, TagBytes);
        gcm.Encrypt(nonce, plain, output.AsSpan(NonceBytes, plain.Length), output.AsSpan(NonceBytes + plain.Length));
        return Prefix + Convert.ToBase64String(output);
    }

    public bool TryDecrypt(string token, out string plaintext)
    {
        plaintext = "";
        if (!token.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        byte[] data;
        try
        {
            data = Convert.FromBase64String(token[Prefix.Length..]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (data.Length < NonceBytes + TagBytes) return false;
        var cipherLength = data.Length - NonceBytes - TagBytes;
        var plain = new byte[cipherLength];
        try
        {
            using var gcm = new AesGcm(_key, TagBytes);
            gcm.Decrypt(data.AsSpan(0, NonceBytes), data.AsSpan(NonceBytes, cipherLength), data.AsSpan(NonceBytes + cipherLength), plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        try
        {
            plaintext = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(plain);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
