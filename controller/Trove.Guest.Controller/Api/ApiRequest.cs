using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Trove.Guest.State.Identity;

namespace Trove.Guest.Controller.Api;

/// <summary>What every handler needs from a request: who is calling, and its JSON body read within Trove's limits.</summary>
public static class ApiRequest
{
    /// <summary>The largest body the API reads (Trove's <c>max_request_body_size</c> is 112 KiB; ours leaves room for configuration values).</summary>
    public const int MaxBodyBytes = 1 << 20;

    public static Principal Principal(HttpContext http) => (Principal)http.Items[TokenAuthentication.PrincipalKey]!;

    /// <summary>
    /// The body as a JSON object with <paramref name="root"/> as its one top-level key (Trove's <c>{"instance": {...}}</c>),
    /// or the fault to answer: 413 when it is too large, 400 when it is not JSON or lacks the key.
    /// </summary>
    public static async Task<(JsonObject? Body, IResult? Fault)> ReadAsync(HttpContext http, string root)
    {
        var (envelope, fault) = await ReadAnyAsync(http).ConfigureAwait(false);
        if (envelope is null) return (null, fault);
        if (envelope[root] is not JsonObject body) return (null, Faults.BadRequest($"The request body must be an object with the key '{root}'."));
        return (body, null);
    }

    /// <summary>The body as a JSON object (e.g. an action's <c>{"restart": {}}</c>), or the fault to answer.</summary>
    public static async Task<(JsonObject? Body, IResult? Fault)> ReadAnyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > MaxBodyBytes) return (null, Faults.TooLarge());
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) return (null, Faults.TooLarge());
            buffer.Write(chunk, 0, read);
        }
        JsonNode? parsed;
        try
        {
            parsed = buffer.Length == 0 ? null : JsonNode.Parse(buffer.ToArray());
        }
        catch (JsonException e)
        {
            return (null, Faults.BadRequest($"The request body is not valid JSON: {e.Message}"));
        }
        if (parsed is not JsonObject envelope) return (null, Faults.BadRequest("The request body must be a JSON object."));
        return (envelope, null);
    }
}
