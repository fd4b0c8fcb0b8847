using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace Trove.Guest.Agent.ObjectStorage;

/// <summary>
/// The slice of the S3 API the backups need, path-style, signed with AWS Signature Version 4: object PUT, HEAD, GET
/// (streamed), DELETE, and multipart uploads. Works with any S3-compatible store (AWS, Ceph RGW, MinIO...).
/// </summary>
public sealed class S3Client(HttpClient http, Uri endpoint, string region, string accessKey, string secretKey)
{
    private const string Service = "s3";
    private static readonly string EmptySha256 = Convert.ToHexStringLower(SHA256.HashData([]));

    public Uri Endpoint { get; } = new(endpoint.AbsoluteUri.TrimEnd('/') + "/");

    public async Task EnsureBucketAsync(string bucket, CancellationToken ct)
    {
        using var head = await SendAsync(HttpMethod.Head, bucket, null, null, null, ct).ConfigureAwait(false);
        if (head.IsSuccessStatusCode) return;
        using var create = await SendAsync(HttpMethod.Put, bucket, null, null, null, ct).ConfigureAwait(false);
        if (create.StatusCode != HttpStatusCode.Conflict) await EnsureAsync(create, $"PUT bucket {bucket}").ConfigureAwait(false);
    }

    /// <summary>Stores a whole object from memory; returns its ETag (the MD5 hex of the body).</summary>
    public async Task<string> PutObjectAsync(string bucket, string key, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Put, $"{bucket}/{Escape(key)}", null, body, headers, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT {bucket}/{key}").ConfigureAwait(false);
        return ObjectStoreResponses.ETagOf(response);
    }

    public async Task<string> CreateMultipartUploadAsync(string bucket, string key, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"{bucket}/{Escape(key)}", "uploads=", null, headers, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"POST {bucket}/{key}?uploads").ConfigureAwait(false);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        return xml.Descendants().First(e => e.Name.LocalName == "UploadId").Value;
    }

    public async Task<string> UploadPartAsync(string bucket, string key, string uploadId, int partNumber, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        var query = $"partNumber={partNumber.ToString(CultureInfo.InvariantCulture)}&uploadId={Escape(uploadId)}";
        using var response = await SendAsync(HttpMethod.Put, $"{bucket}/{Escape(key)}", query, body, null, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT part {partNumber} of {bucket}/{key}").ConfigureAwait(false);
        return ObjectStoreResponses.ETagOf(response);
    }

    public async Task CompleteMultipartUploadAsync(string bucket, string key, string uploadId, IReadOnlyList<string> partETags, CancellationToken ct)
    {
        var xml = new XElement("CompleteMultipartUpload", partETags.Select((etag, i) =>
            new XElement("Part", new XElement("PartNumber", i + 1), new XElement("ETag", "\"" + etag + "\""))));
        using var response = await SendAsync(HttpMethod.Post, $"{bucket}/{Escape(key)}", $"uploadId={Escape(uploadId)}",
            Encoding.UTF8.GetBytes(xml.ToString(SaveOptions.DisableFormatting)), null, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"complete {bucket}/{key}").ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (body.Contains("<Error>", StringComparison.Ordinal)) throw new IOException($"object storage: completing {bucket}/{key} failed: {body}");
    }

    public async Task AbortMultipartUploadAsync(string bucket, string key, string uploadId, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"{bucket}/{Escape(key)}", $"uploadId={Escape(uploadId)}", null, null, ct).ConfigureAwait(false);
    }

    /// <summary>The object's headers (names lower-cased, ETag unquoted), or null when it does not exist.</summary>
    public async Task<IReadOnlyDictionary<string, string>?> HeadObjectAsync(string bucket, string key, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Head, $"{bucket}/{Escape(key)}", null, null, null, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(response, $"HEAD {bucket}/{key}").ConfigureAwait(false);
        return ObjectStoreResponses.HeadersOf(response);
    }

    public async Task<(Stream Body, IReadOnlyDictionary<string, string> Headers)> GetObjectAsync(string bucket, string key, CancellationToken ct)
    {
        var response = await SendAsync(HttpMethod.Get, $"{bucket}/{Escape(key)}", null, null, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        try
        {
            await EnsureAsync(response, $"GET {bucket}/{key}").ConfigureAwait(false);
            return (new IO.HttpResponseStream(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), response), ObjectStoreResponses.HeadersOf(response));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task DeleteObjectAsync(string bucket, string key, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"{bucket}/{Escape(key)}", null, null, null, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound) await EnsureAsync(response, $"DELETE {bucket}/{key}").ConfigureAwait(false);
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? query, ReadOnlyMemory<byte>? body,
        IReadOnlyDictionary<string, string>? headers, CancellationToken ct, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var uri = new Uri(Endpoint, path + (query is null ? "" : "?" + query));
        var request = new HttpRequestMessage(method, uri);
        var payloadHash = body is { } b ? Convert.ToHexStringLower(SHA256.HashData(b.Span)) : EmptySha256;
        var now = DateTime.UtcNow;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var signed = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}",
            ["x-amz-content-sha256"] = payloadHash,
            ["x-amz-date"] = amzDate,
        };
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) signed[k.ToLowerInvariant()] = v.Trim();
        if (body is { } content)
        {
            request.Content = new ReadOnlyMemoryContent(content);
            request.Content.Headers.ContentLength = content.Length;
        }
        foreach (var (k, v) in signed)
        {
            if (k != "host") request.Headers.TryAddWithoutValidation(k, v);
        }
        request.Headers.TryAddWithoutValidation("Authorization",
            SigV4.Authorization(method.Method, uri.AbsolutePath, uri.Query.TrimStart('?'), signed, payloadHash, now, region, Service, accessKey, secretKey));
        return await http.SendAsync(request, completion, ct).ConfigureAwait(false);
    }


    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        throw new IOException($"object storage: {what} failed: {(int)response.StatusCode} {response.ReasonPhrase} {body.Trim()[..Math.Min(body.Trim().Length, 300)]}");
    }
}
