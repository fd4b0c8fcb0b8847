using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.ObjectStorage;

/// <summary>
/// The slice of the Swift object API the guest needs: containers, object PUT (MD5-verified), GET, prefix listing and
/// DELETE. Authentication is the caller's: Trove puts the user's token and service catalog in the request context.
/// </summary>
public sealed class SwiftClient(HttpClient http, Uri storageUrl, string token)
{
    public Uri StorageUrl { get; } = storageUrl;

    /// <summary>
    /// The user's Swift from a Trove request context: <c>auth_token</c>, and the object-store endpoint of
    /// <c>service_catalog</c> (Keystone v2 <c>publicURL</c> or v3 <c>interface: public</c>), or <c>swift_url</c> + project id.
    /// </summary>
    public static SwiftClient FromContext(HttpClient http, JsonObject context, AgentOptions options)
    {
        var token = context["auth_token"]?.GetValue<string>()
            ?? throw new RpcFailureException("GuestError", "trove.common.exception", "the request carries no auth_token for object storage");
        var project = context["project_id"]?.GetValue<string>() ?? context["tenant"]?.GetValue<string>();
        string? url = options.SwiftUrl is { Length: > 0 } swift && project is not null ? swift.TrimEnd('/') + "/" + project : null;
        url ??= FromCatalog(context["service_catalog"] as JsonArray);
        if (url is null)
            throw new RpcFailureException("GuestError", "trove.common.exception", "no object-store endpoint: the service catalog has none and swift_url is not set");
        return new SwiftClient(http, new Uri(url.TrimEnd('/') + "/"), token);
    }

    private static string? FromCatalog(JsonArray? catalog)
    {
        foreach (var service in catalog ?? [])
        {
            if (service?["type"]?.GetValue<string>() != "object-store" || service["endpoints"] is not JsonArray endpoints) continue;
            foreach (var e in endpoints)
            {
                if (e?["publicURL"]?.GetValue<string>() is { } v2) return v2;
                if (e?["interface"]?.GetValue<string>() == "public" && e["url"]?.GetValue<string>() is { } v3) return v3;
            }
        }
        return null;
    }

    private Uri Url(string container, string? name = null, string? query = null) =>
        new(StorageUrl, Escape(container) + (name is null ? "" : "/" + string.Join('/', name.Split('/').Select(Escape))) + (query is null ? "" : "?" + query));

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private HttpRequestMessage Request(HttpMethod method, Uri url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("X-Auth-Token", token);
        return request;
    }

    public async Task EnsureContainerAsync(string container, CancellationToken ct)
    {
        using var response = await http.SendAsync(Request(HttpMethod.Put, Url(container)), ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT container {container}").ConfigureAwait(false);
    }

    /// <summary>Stores an object; Swift checks the MD5 we send as ETag, so a corrupted upload is refused (422), never kept.</summary>
    public async Task PutObjectAsync(string container, string name, byte[] content, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        var request = Request(HttpMethod.Put, Url(container, name));
        request.Content = new ByteArrayContent(content);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TryAddWithoutValidation("ETag", Convert.ToHexStringLower(MD5.HashData(content)));
        foreach (var (key, value) in headers) request.Headers.TryAddWithoutValidation(key, value);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT {container}/{name}").ConfigureAwait(false);
    }

    /// <summary>The object's bytes, or null when it does not exist.</summary>
    public async Task<byte[]?> GetObjectAsync(string container, string name, CancellationToken ct)
    {
        using var response = await http.SendAsync(Request(HttpMethod.Get, Url(container, name)), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(response, $"GET {container}/{name}").ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string container, string prefix, CancellationToken ct)
    {
        var names = new List<string>();
        string? marker = null;
        while (true)
        {
            var query = "format=json&prefix=" + Escape(prefix) + (marker is null ? "" : "&marker=" + Escape(marker));
            using var response = await http.SendAsync(Request(HttpMethod.Get, Url(container, query: query)), ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) return names;
            await EnsureAsync(response, $"GET {container}?prefix={prefix}").ConfigureAwait(false);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            var page = doc.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
            if (page.Count == 0) return names;
            names.AddRange(page);
            marker = page[^1];
        }
    }

    /// <summary>
    /// Streams <paramref name="content"/> into an object with chunked transfer (no length needed up front) and returns
    /// the ETag Swift computed, for the caller to compare with its own MD5.
    /// </summary>
    public async Task<string> PutStreamAsync(string container, string name, Stream content, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Put, Url(container, name));
        request.Content = new StreamContent(content, 1 << 20);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TransferEncodingChunked = true;
        foreach (var (key, value) in headers) request.Headers.TryAddWithoutValidation(key, value);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT {container}/{name}").ConfigureAwait(false);
        return ObjectStoreResponses.ETagOf(response);
    }

    /// <summary>Stores <paramref name="body"/> (a manifest, an empty copy request) with the headers; returns the ETag.</summary>
    public async Task<string> PutAsync(string container, string name, string? query, string body, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Put, Url(container, name, query));
        request.Content = new StringContent(body);
        foreach (var (key, value) in headers) request.Headers.TryAddWithoutValidation(key, value);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT {container}/{name}").ConfigureAwait(false);
        return ObjectStoreResponses.ETagOf(response);
    }

    /// <summary>The object's headers (names lower-cased), or null when it does not exist.</summary>
    public async Task<IReadOnlyDictionary<string, string>?> HeadObjectAsync(string container, string name, CancellationToken ct)
    {
        using var response = await http.SendAsync(Request(HttpMethod.Head, Url(container, name)), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(response, $"HEAD {container}/{name}").ConfigureAwait(false);
        return ObjectStoreResponses.HeadersOf(response);
    }

    /// <summary>The object's body as a stream (the response stays open until the stream is disposed), and its headers.</summary>
    public async Task<(Stream Body, IReadOnlyDictionary<string, string> Headers)> GetStreamAsync(string container, string name, CancellationToken ct)
    {
        var response = await http.SendAsync(Request(HttpMethod.Get, Url(container, name)), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        try
        {
            await EnsureAsync(response, $"GET {container}/{name}").ConfigureAwait(false);
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return (new IO.HttpResponseStream(body, response), ObjectStoreResponses.HeadersOf(response));
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }


    public async Task DeleteObjectAsync(string container, string name, CancellationToken ct)
    {
        using var response = await http.SendAsync(Request(HttpMethod.Delete, Url(container, name)), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        await EnsureAsync(response, $"DELETE {container}/{name}").ConfigureAwait(false);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        throw new RpcFailureException("GuestError", "trove.common.exception",
            $"object storage: {what} failed: {(int)response.StatusCode} {response.ReasonPhrase} {body.Trim()[..Math.Min(body.Trim().Length, 200)]}");
    }
}
