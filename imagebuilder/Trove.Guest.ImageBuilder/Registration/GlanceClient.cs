using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>An image as Glance's v2 API shows it; custom properties are top-level string keys beside the standard ones.</summary>
public sealed class GlanceImage(JsonObject json)
{
    public JsonObject Json { get; } = json;
    public string Id => Property("id") ?? throw new RegistrationException("Glance returned an image without an id");
    public string Name => Property("name") ?? "";
    public string Status => Property("status") ?? "";
    public long? Size => Json["size"]?.GetValue<long>();
    public IReadOnlyList<string> Tags => Json["tags"]?.AsArray().Select(t => t!.GetValue<string>()).ToList() ?? [];

    public string? Property(string key) => Json[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}

/// <summary>
/// The part of Glance's image API v2 that registration needs: find by property, create, upload, check, tag, delete.
/// Errors become <see cref="RegistrationException"/>s that name the Glance URL and quote Glance's own message.
/// </summary>
public sealed partial class GlanceClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);
    private readonly HttpClient _http;

    public GlanceClient(Uri url, string? token)
    {
        Url = Normalize(url);
        // No overall timeout: an upload of gigabytes takes as long as it takes; each other request gets RequestTimeout.
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = new Uri(Url + "/"), Timeout = Timeout.InfiniteTimeSpan,
        };
        // Without it Glance answers errors with an HTML page.
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (token is { Length: > 0 }) _http.DefaultRequestHeaders.TryAddWithoutValidation("X-Auth-Token", token);
    }

    /// <summary>The endpoint as a Keystone catalog lists it: no <c>/v2</c>, no trailing slash.</summary>
    public string Url { get; }

    private static string Normalize(Uri url)
    {
        var text = url.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return text.EndsWith("/v2", StringComparison.Ordinal) ? text[..^3] : text;
    }

    /// <summary>Every image whose property <paramref name="key"/> is <paramref name="value"/>, across all pages.</summary>
    public async Task<IReadOnlyList<GlanceImage>> FindByPropertyAsync(string key, string value, CancellationToken ct)
    {
        var found = new List<GlanceImage>();
        // Glance v2 matches any unknown query key exactly against that property; filtering again here keeps a Glance
        // that ignored the filter (and listed everything, page by page) from being taken at its word.
        string? next = $"v2/images?{Uri.EscapeDataString(key)}={Uri.EscapeDataString(value)}&limit=100";
        while (next is not null)
        {
            var page = await SendJsonAsync(HttpMethod.Get, next, null, ct).ConfigureAwait(false);
            foreach (var image in page["images"]?.AsArray() ?? [])
            {
                var glanceImage = new GlanceImage(image!.AsObject());
                if (glanceImage.Property(key) == value) found.Add(glanceImage);
            }
            next = page["next"]?.GetValue<string>() is { Length: > 0 } n ? n.TrimStart('/') : null;
        }
        return found;
    }

    public async Task<GlanceImage> GetAsync(string id, CancellationToken ct) =>
        new(await SendJsonAsync(HttpMethod.Get, $"v2/images/{Uri.EscapeDataString(id)}", null, ct).ConfigureAwait(false));

    public async Task<GlanceImage> CreateAsync(JsonObject image, CancellationToken ct) =>
        new(await SendJsonAsync(HttpMethod.Post, "v2/images", image, ct).ConfigureAwait(false));

    /// <summary>Adds a tag (a no-op when the image has it already).</summary>
    public async Task AddTagAsync(string id, string tag, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"v2/images/{Uri.EscapeDataString(id)}/tags/{Uri.EscapeDataString(tag)}");
        using var response = await SendAsync(request, ct, RequestTimeout).ConfigureAwait(false);
    }

    /// <summary>Deletes an image; one that is already gone is fine.</summary>
    public async Task DeleteAsync(string id, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"v2/images/{Uri.EscapeDataString(id)}");
        using var response = await SendAsync(request, ct, RequestTimeout, HttpStatusCode.NotFound).ConfigureAwait(false);
    }

    /// <summary>Streams the file into a queued image (<c>PUT /v2/images/{id}/file</c>); returns the SHA-512 of what was sent.</summary>
    public async Task<string> UploadAsync(string id, string path, long length, Action<long> progress, CancellationToken ct)
    {
        using var content = new UploadContent(path, length, progress);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"v2/images/{Uri.EscapeDataString(id)}/file") { Content = content };
        using var response = await SendAsync(request, ct, timeout: null).ConfigureAwait(false);
        return content.Sha512 ?? throw new RegistrationException($"the upload to Glance at {Url} ended before {path} was sent");
    }

    private async Task<JsonObject> SendJsonAsync(HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await SendAsync(request, ct, RequestTimeout).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(text)?.AsObject() ?? throw new JsonException("empty body");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new RegistrationException($"Glance at {Url} answered {method} /{path} with something other than a JSON object: {Shorten(text)}", e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct, TimeSpan? timeout, HttpStatusCode? alsoFine = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) deadline.CancelAfter(t);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            throw new RegistrationException($"cannot reach Glance at {Url}: {Reason(e)}", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RegistrationException($"Glance at {Url} did not answer {request.Method} {PathOf(request)} within {timeout?.TotalSeconds:0} s", e);
        }
        if (response.IsSuccessStatusCode || response.StatusCode == alsoFine) return response;
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            throw new RegistrationException(
                $"Glance at {Url} refused {request.Method} {PathOf(request)}: {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorMessage(body)}");
        }
    }

    /// <summary>The request's path and query (HttpClient makes the URI absolute when it sends it).</summary>
    private static string PathOf(HttpRequestMessage request) =>
        request.RequestUri is { IsAbsoluteUri: true } uri ? uri.PathAndQuery : "/" + request.RequestUri;

    /// <summary>The innermost cause (connection refused, name not known, reset), which is what an operator can act on.</summary>
    private static string Reason(Exception e) => e.GetBaseException().Message;

    /// <summary>Glance's <c>message</c> from a JSON error, or the text of an HTML error page, without the markup.</summary>
    private static string ErrorMessage(string body)
    {
        string? message = null;
        try
        {
            message = JsonNode.Parse(body)?["message"]?.GetValue<string>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
        }
        return Shorten(Whitespace().Replace(Markup().Replace(message ?? body, " "), " ").Trim());
    }

    private static string Shorten(string text) => text.Length <= 1000 ? text : text[..1000] + "...";

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Markup();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    public void Dispose() => _http.Dispose();
}
