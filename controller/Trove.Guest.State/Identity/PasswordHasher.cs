using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.State.Identity;

/// <summary>
/// Salted password hashes: PBKDF2-HMAC-SHA512, 210,000 iterations (OWASP's figure for it), a random 16-byte salt per
/// user. The stored text names the algorithm and count, so a later increase re-hashes users as they log in.
/// </summary>
public static class PasswordHasher
{
    private const int Iterations = 210_000;
    private const string Scheme = "pbkdf2-sha512";

    public static (string Hash, string Salt) Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        return ($"{Scheme}:{Iterations}:{Convert.ToBase64String(Derive(password, salt, Iterations))}", Convert.ToBase64String(salt));
    }

    public static bool Verify(string password, string hash, string salt)
    {
        var parts = hash.Split(':');
        if (parts.Length != 3 || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1) return false;
        byte[] expected;
        try
        {
            expected = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Derive(password, Convert.FromBase64String(salt), iterations), expected);
    }

    private static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, 32);
}
