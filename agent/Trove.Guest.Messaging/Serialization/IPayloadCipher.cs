namespace Trove.Guest.Messaging.Serialization;

/// <summary>Turns JSON text into an opaque ASCII token and back: the cryptographic half of a secure serializer.</summary>
public interface IPayloadCipher
{
    /// <summary>True when tampering is detected (a MAC or AEAD tag), so a failed decryption is always an error.</summary>
    bool IsAuthenticated { get; }

    string Encrypt(string plaintext);

    /// <summary>Decrypts; false (never an exception) when the token is not valid base64, has the wrong shape or key.</summary>
    bool TryDecrypt(string token, out string plaintext);
}
