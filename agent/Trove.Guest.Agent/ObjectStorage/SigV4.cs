using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Trove.Guest.Agent.ObjectStorage;

/// <summary>AWS Signature Version 4: the canonical request, the string to sign, and the derived key chain.</summary>
internal static class SigV4
{
    /// <summary>
    /// The <c>Authorization</c> header value. <paramref name="headers"/> are the signed headers, names lower-case
    /// (host, x-amz-content-sha256 and x-amz-date at least); <paramref name="path"/> is already URI-encoded.
    /// </summary>
    public static string Authorization(string method, string path, string query, IReadOnlyDictionary<string, string> headers, string payloadHash,
        DateTime now, string region, string service, string accessKey, string secretKey)
    {
        var date = now.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var scope = $"{date}/{region}/{service}/aws4_request";
        var canonicalQuery = string.Join("&", query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Contains('=') ? p : p + "=").Order(StringComparer.Ordinal));
        var sorted = headers.OrderBy(h => h.Key, StringComparer.Ordinal).ToList();
        var signedHeaders = string.Join(";", sorted.Select(h => h.Key));
        var canonical = string.Join("\n", method, path, canonicalQuery,
            string.Concat(sorted.Select(h => $"{h.Key}:{h.Value.Trim()}\n")), signedHeaders, payloadHash);
        var toSign = string.Join("\n", "AWS4-HMAC-SHA256", now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture), scope,
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
        var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date), region), service), "aws4_request");
        return $"AWS4-HMAC-SHA256 Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={Convert.ToHexStringLower(Hmac(key, toSign))}";
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
