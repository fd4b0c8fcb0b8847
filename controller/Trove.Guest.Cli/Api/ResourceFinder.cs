using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Api;

/// <summary>
/// troveclient's <c>find_resource</c>: a name or id becomes the resource. First <c>GET /{collection}/{name_or_id}</c>; on 404
/// the list, matched by name. No match or several matches end the command (exit 1) with troveclient's messages.
/// </summary>
internal sealed class ResourceFinder(TroveApiClient api)
{
    public Task<JsonObject> InstanceAsync(string nameOrId, CancellationToken ct) => FindAsync("instances", "instance", nameOrId, ct);

    public Task<JsonObject> BackupAsync(string nameOrId, CancellationToken ct) => FindAsync("backups", "backup", nameOrId, ct);

    public Task<JsonObject> ConfigurationAsync(string nameOrId, CancellationToken ct) => FindAsync("configurations", "configuration", nameOrId, ct);

    /// <summary>A flavor's reference for <c>flavorRef</c>: Nova's integer id when it has one, its string id otherwise.</summary>
    public async Task<JsonNode> FlavorRefAsync(string nameOrId, CancellationToken ct)
    {
        var flavors = await api.ListAsync("/flavors", "flavors", ct).ConfigureAwait(false);
        var byId = flavors.Where(f => Text(f["id"]) == nameOrId || Text(f["str_id"]) == nameOrId).ToList();
        var flavor = Single(byId.Count > 0 ? byId : flavors.Where(f => Text(f["name"]) == nameOrId).ToList(), "flavor", nameOrId);
        return (flavor["id"] is JsonValue id && id.GetValueKind() != JsonValueKind.Null ? id : flavor["str_id"])?.DeepClone()
            ?? throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: flavor '{nameOrId}' has no id");
    }

    private async Task<JsonObject> FindAsync(string collection, string noun, string nameOrId, CancellationToken ct)
    {
        if (await api.GetOrNullAsync($"/{collection}/{PathSegment.Escape(nameOrId)}", ct).ConfigureAwait(false) is { } found
            && found[noun] is JsonObject resource)
            return resource;
        var all = await api.ListAsync($"/{collection}", collection, ct).ConfigureAwait(false);
        var match = Single(all.Where(r => Text(r["name"]) == nameOrId).ToList(), noun, nameOrId);
        // A list holds summaries; the command wants the resource as show has it (troveclient gets it again too).
        return (await api.GetOrNullAsync($"/{collection}/{PathSegment.Escape(Id(match))}", ct).ConfigureAwait(false))?[noun] as JsonObject
            ?? throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: No {noun} with a name or ID of '{nameOrId}' exists.");
    }

    private static JsonObject Single(List<JsonObject> matches, string noun, string nameOrId) => matches.Count switch
    {
        1 => matches[0],
        0 => throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: No {noun} with a name or ID of '{nameOrId}' exists."),
        _ => throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: Multiple {noun} matches found for '{nameOrId}', use an ID to be more specific."),
    };

    /// <summary>A JSON scalar as text (ids are strings or numbers); null otherwise.</summary>
    public static string? Text(JsonNode? node) => node is JsonValue value ? value.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>(),
        JsonValueKind.Number => value.ToJsonString(),
        _ => null,
    } : null;

    /// <summary>The id of a resource the API returned.</summary>
    public static string Id(JsonObject resource) =>
        Text(resource["id"]) ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API returned a resource without an id");
}
