using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Api;

/// <summary>
/// One logged-in session with Trove's REST API v1.0: troveclient's v1 auth (<c>GET {auth_url}</c> with <c>X-Auth-User</c>,
/// <c>X-Auth-Key</c>, <c>X-Auth-Project-Id</c>, answered with <c>X-Auth-Token</c> and <c>X-Server-Management-Url</c>), then
/// JSON requests relative to the project's URL. Failures become <see cref="CliFailure"/>s with the exit code a script
/// expects: an unreachable API 3, a refused login or token 4, any other 4xx/5xx 1 with Trove's fault message.
/// </summary>
internal sealed class TroveApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _token;

    private TroveApiClient(HttpClient http, Uri projectUrl, string token)
    {
        _http = http;
        ProjectUrl = projectUrl;
        _token = token;
    }

    /// <summary>The project's API base (X-Server-Management-Url, or --bypass-url).</summary>
    public Uri ProjectUrl { get; }

    public static async Task<TroveApiClient> LoginAsync(TroveCredentials credentials, TimeSpan requestTimeout, CancellationToken ct)
    {
        var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), UseCookies = false, AllowAutoRedirect = false })
        {
            Timeout = requestTimeout,
        };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, credentials.AuthUrl);
            request.Headers.Add("X-Auth-User", credentials.UserName);
            request.Headers.Add("X-Auth-Key", credentials.Password);
            if (credentials.ProjectName is { } project) request.Headers.Add("X-Auth-Project-Id", project);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await SendOrFailAsync(http, request, ct).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new CliFailure(ExitCodes.AuthFailed, $"ERROR: {await FaultMessageAsync(response, ct).ConfigureAwait(false)} (HTTP {(int)response.StatusCode})");
            if (!response.IsSuccessStatusCode)
                throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: {await FaultMessageAsync(response, ct).ConfigureAwait(false)} (HTTP {(int)response.StatusCode})");
            var token = Header(response, "X-Auth-Token");
            var management = Header(response, "X-Server-Management-Url");
            if (token is null || (management is null && credentials.BypassUrl is null))
                throw new CliFailure(ExitCodes.AuthFailed, $"ERROR: {credentials.AuthUrl} answered without X-Auth-Token and X-Server-Management-Url");
            var projectUrl = credentials.BypassUrl ?? new Uri(management!, UriKind.Absolute);
            return new TroveApiClient(http, projectUrl, token);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>GET a resource; null when the API answers 404.</summary>
    public async Task<JsonObject?> GetOrNullAsync(string path, CancellationToken ct)
    {
        var (status, body) = await SendCoreAsync(HttpMethod.Get, path, null, ct, allowNotFound: true).ConfigureAwait(false);
        return status == HttpStatusCode.NotFound ? null : body as JsonObject ?? throw NotJson(path);
    }

    public async Task<JsonObject> GetAsync(string path, CancellationToken ct) =>
        (await SendCoreAsync(HttpMethod.Get, path, null, ct, allowNotFound: false).ConfigureAwait(false)).Body as JsonObject ?? throw NotJson(path);

    /// <summary>Every item of a paginated list (<c>{"key": [...], "links": [{"rel": "next", "href": "...?marker=..."}]}</c>).</summary>
    public async Task<List<JsonObject>> ListAsync(string path, string key, CancellationToken ct)
    {
        var items = new List<JsonObject>();
        var next = path;
        for (var pages = 0; next is not null && pages < 1000; pages++)
        {
            var page = await GetAsync(next, ct).ConfigureAwait(false);
            if (page[key] is not JsonArray array) throw NotJson(next);
            items.AddRange(array.OfType<JsonObject>());
            next = NextPage(path, page);
        }
        return items;
    }

    /// <summary>POST, PUT or DELETE; the response body when there is one (Trove answers many actions 202 with none).</summary>
    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct) =>
        (await SendCoreAsync(method, path, body, ct, allowNotFound: false).ConfigureAwait(false)).Body;

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendCoreAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct,
        bool allowNotFound)
    {
        using var request = new HttpRequestMessage(method, Resolve(path));
        request.Headers.Add("X-Auth-Token", _token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await SendOrFailAsync(_http, request, ct).ConfigureAwait(false);
        if (allowNotFound && response.StatusCode == HttpStatusCode.NotFound) return (response.StatusCode, null);
        if (!response.IsSuccessStatusCode)
        {
            var message = $"ERROR: {await FaultMessageAsync(response, ct).ConfigureAwait(false)} (HTTP {(int)response.StatusCode})";
            throw new CliFailure(response.StatusCode == HttpStatusCode.Unauthorized ? ExitCodes.AuthFailed : ExitCodes.ApiRefused, message);
        }
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text)) return (response.StatusCode, null);
        try
        {
            return (response.StatusCode, JsonNode.Parse(text));
        }
        catch (JsonException)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"ERROR: {request.RequestUri} answered {(int)response.StatusCode} with a body that is not JSON");
        }
    }

    /// <summary>A path relative to the project URL ("/instances/x"), or an absolute URL the API gave (a next link).</summary>
    private Uri Resolve(string path) =>
        Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal)
            ? absolute
            // As sent: Uri would otherwise turn quote_user_host's "%2e" back into the "." it is there to hide.
            : new Uri(ProjectUrl.AbsoluteUri.TrimEnd('/') + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    /// <summary>troveclient follows only the marker of a next link, against its own URL: so do we.</summary>
    private static string? NextPage(string path, JsonObject page)
    {
        var href = (page["links"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(l => l["rel"]?.GetValueKind() == JsonValueKind.String && l["rel"]!.GetValue<string>() == "next")?["href"]?.GetValue<string>();
        if (href is null || !Uri.TryCreate(href, UriKind.Absolute, out var next)) return null;
        var marker = next.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).FirstOrDefault(p => p[0] == "marker" && p.Length == 2)?[1];
        if (marker is null) return null;
        var basePath = string.Join('&', path.Split('&').Where(p => !p.Contains("marker=", StringComparison.Ordinal)));
        return basePath + (basePath.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "marker=" + marker;
    }

    private static async Task<HttpResponseMessage> SendOrFailAsync(HttpClient http, HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"ERROR: cannot reach {request.RequestUri}: {e.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"ERROR: {request.RequestUri} did not answer within {http.Timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Trove's fault body is <c>{"itemNotFound": {"code": 404, "message": "..."}}</c>; anything else is shown as it came.</summary>
    private static async Task<string> FaultMessageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            if (JsonNode.Parse(text) is JsonObject fault && fault.Count == 1 && fault.First().Value is JsonObject inner
                && inner["message"] is JsonValue message && message.GetValueKind() == JsonValueKind.String)
                return message.GetValue<string>();
        }
        catch (JsonException)
        {
        }
        return text.Trim() is { Length: > 0 } raw ? raw : response.ReasonPhrase ?? "no message";
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private CliFailure NotJson(string path) => new(ExitCodes.Unreachable, $"ERROR: {Resolve(path)} did not answer with the JSON Trove sends");

    public void Dispose() => _http.Dispose();
}
