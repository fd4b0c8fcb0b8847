using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// troveclient's configuration group verbs: <c>configuration-create|list|show|delete</c> and
/// <c>configuration-attach|detach</c> (an instance's group, through <c>PUT /instances/{id}</c>).
/// </summary>
internal static class ConfigurationCommands
{
    private static readonly Column[] ListColumns =
    [
        Column.Field("id"), Column.Field("name"), Column.Field("description"), Column.Field("datastore_name"), Column.Field("datastore_version_name"),
    ];

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        var name = new Argument<string>("name") { Description = "the group's name" };
        var values = new Argument<string>("values") { Description = "the values to set, as a JSON object, e.g. '{\"max_connections\": 200}'" };
        values.Validators.Add(r =>
        {
            if (!IsJsonObject(r.GetValueOrDefault<string>())) r.AddError("values must be a JSON object, e.g. '{\"max_connections\": 200}'");
        });
        var datastore = new Option<string?>("--datastore") { Description = "the group's datastore (name or id)" };
        var version = new Option<string?>("--datastore-version", "--datastore_version") { Description = "the group's datastore version (name or id)" };
        var description = new Option<string?>("--description") { Description = "a description of the group" };
        yield return build.Create("configuration-create", "Create a configuration group", [name, values, datastore, version, description], async (parse, s, ct) =>
        {
            var body = new JsonObject { ["name"] = parse.GetValue(name), ["values"] = JsonNode.Parse(parse.GetValue(values)!) };
            var store = new JsonObject();
            if (parse.GetValue(datastore) is { } type) store["type"] = type;
            if (parse.GetValue(version) is { } v) store["version"] = v;
            if (store.Count > 0) body["datastore"] = store;
            if (parse.GetValue(description) is { } text) body["description"] = text;
            var created = await s.Api.SendAsync(HttpMethod.Post, "/configurations", new JsonObject { ["configuration"] = body }, ct).ConfigureAwait(false);
            var group = created?["configuration"] as JsonObject
                ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API accepted the configuration group but did not return it");
            await s.Print.ObjectAsync(group, View(group)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        yield return build.Create("configuration-list", "List configuration groups", [], async (parse, s, ct) =>
        {
            await s.Print.ListAsync(await s.Api.ListAsync("/configurations", "configurations", ct).ConfigureAwait(false), ListColumns).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var shown = Group();
        yield return build.Create("configuration-show", "Show a configuration group", [shown], async (parse, s, ct) =>
        {
            var group = await s.Find.ConfigurationAsync(parse.GetValue(shown)!, ct).ConfigureAwait(false);
            await s.Print.ObjectAsync(group, View(group)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var deleted = Group();
        yield return build.Create("configuration-delete", "Delete a configuration group", [deleted], async (parse, s, ct) =>
        {
            var group = await s.Find.ConfigurationAsync(parse.GetValue(deleted)!, ct).ConfigureAwait(false);
            await s.Api.SendAsync(HttpMethod.Delete, $"/configurations/{PathSegment.Escape(ResourceFinder.Id(group))}", null, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var attachedTo = InstanceCommands.Instance();
        var attached = Group();
        yield return build.Create("configuration-attach", "Attach a configuration group to an instance", [attachedTo, attached], async (parse, s, ct) =>
        {
            var instance = await s.Find.InstanceAsync(parse.GetValue(attachedTo)!, ct).ConfigureAwait(false);
            var group = await s.Find.ConfigurationAsync(parse.GetValue(attached)!, ct).ConfigureAwait(false);
            await UpdateInstanceAsync(s, instance, ResourceFinder.Id(group), ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var detachedFrom = InstanceCommands.Instance();
        yield return build.Create("configuration-detach", "Detach the configuration group from an instance", [detachedFrom], async (parse, s, ct) =>
        {
            var instance = await s.Find.InstanceAsync(parse.GetValue(detachedFrom)!, ct).ConfigureAwait(false);
            await UpdateInstanceAsync(s, instance, null, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
    }

    /// <summary>PUT /instances/{id} with the group's id, or null to detach (what Trove's update reads as "remove").</summary>
    private static Task<JsonNode?> UpdateInstanceAsync(ApiSession s, JsonObject instance, string? groupId, CancellationToken ct) =>
        s.Api.SendAsync(HttpMethod.Put, $"/instances/{PathSegment.Escape(ResourceFinder.Id(instance))}",
            new JsonObject { ["instance"] = new JsonObject { ["configuration"] = groupId } }, ct);

    /// <summary>troveclient shows the values as one JSON text and leaves out the datastore version's id.</summary>
    private static JsonObject View(JsonObject group)
    {
        var view = TroveViews.Object(group);
        if (group["values"] is { } groupValues) view["values"] = groupValues.ToJsonString();
        view.Remove("datastore_version_id");
        return view;
    }

    private static Argument<string> Group() => new("configuration") { Description = "the configuration group's id or name" };

    private static bool IsJsonObject(string? text)
    {
        try
        {
            return text is not null && JsonNode.Parse(text) is JsonObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
