namespace Trove.Guest.Agent.ObjectStorage;

/// <summary>What Swift and S3 responses share: the ETag without its quotes, and the headers as one lower-cased map.</summary>
internal static class ObjectStoreResponses
{
    /// <summary>The ETag, unquoted. Swift sends it unquoted on some responses (a copy), which HttpClient then does not parse.</summary>
    public static string ETagOf(HttpResponseMessage response) =>
        (response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var v) ? v.First() : "")).Trim('"');

    public static Dictionary<string, string> HeadersOf(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, values) in response.Headers) headers[key.ToLowerInvariant()] = string.Join(",", values);
        foreach (var (key, values) in response.Content.Headers) headers[key.ToLowerInvariant()] = string.Join(",", values);
        if (headers.TryGetValue("etag", out var etag)) headers["etag"] = etag.Trim('"');
        return headers;
    }
}
