using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Configurations;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Configurations;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's configuration groups (trove/configuration/service.py): create, list, show, replace (PUT), merge (PATCH),
/// delete, the instances using a group, and the parameters a datastore version accepts, in Trove's shapes and with
/// Trove's messages and status codes. The rules come from the <see cref="ConfigurationRules"/> service (our
/// <c>templates/&lt;manager&gt;/validation-rules.json</c>); without it these routes answer 500. Changing a group's values
/// re-applies them to the instances that use it, through <see cref="GuestClients"/>, as Trove does.
/// </summary>
public static partial class ConfigurationsEndpoints
{
    /// <summary>Trove's <c>configurations_page_size</c> and <c>instances_page_size</c> defaults.</summary>
    private const int PageSize = 20;

    public static void MapConfigurations(this WebApplication app)
    {
        var store = new ConfigurationStore(app.Services.GetRequiredService<StateDatabase>(), app.Services.GetService<TimeProvider>());
        const string Root = "/v1.0/{projectId}";

        app.MapGet(Root + "/configurations", async (string projectId, HttpContext http, DatastoreStore datastores) =>
        {
            var all = await store.ListAsync(projectId, http.RequestAborted).ConfigureAwait(false);
            var catalog = await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false);
            var (page, links) = Page(http, all, c => c.Id);
            return Results.Json(Paged("configurations", page.Select(c => Summary(c, catalog)).ToList(), links));
        });

        app.MapPost(Root + "/configurations", async (string projectId, HttpContext http, DatastoreStore datastores) =>
        {
            var (body, fault) = await ApiRequest.ReadAsync(http, "configuration").ConfigureAwait(false);
            if (fault is not null) return fault;
            if (SchemaError(body!, create: true) is { } schema) return Faults.BadRequest(schema);
            var (datastore, version, notFound) = await DatastoreVersionOfAsync(datastores, body!["datastore"] as JsonObject, http.RequestAborted).ConfigureAwait(false);
            if (notFound is not null) return notFound;
            var check = RulesOf(http).For(version!.Manager).Check((JsonObject)body!["values"]!, datastore!.Name, version.Name);
            if (!check.Ok) return Faults.Unprocessable(check.Error!);
            var created = await store.CreateAsync(projectId, body["name"]!.GetValue<string>(), OptionalString(body, "description"), version.Id, check.Values!,
                http.RequestAborted).ConfigureAwait(false);
            return Results.Json(new Dictionary<string, object> { ["configuration"] = Detail(created, datastore, version, instanceCount: 0) });
        });

        app.MapGet(Root + "/configurations/{id}", async (string projectId, string id, HttpContext http, DatastoreStore datastores) =>
        {
            if (await store.GetAsync(id, projectId, http.RequestAborted).ConfigureAwait(false) is not { } found) return GroupNotFound(id);
            var catalog = await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false);
            var (datastore, version) = Locate(catalog, found.DatastoreVersionId);
            var count = (await store.InstancesUsingAsync(id, projectId, http.RequestAborted).ConfigureAwait(false)).Count;
            return Results.Json(new Dictionary<string, object> { ["configuration"] = Detail(found, datastore, version, count) });
        });

        app.MapGet(Root + "/configurations/{id}/instances", async (string projectId, string id, HttpContext http) =>
        {
            if (await store.GetAsync(id, projectId, http.RequestAborted).ConfigureAwait(false) is null) return GroupNotFound(id);
            var users = await store.InstancesUsingAsync(id, projectId, http.RequestAborted).ConfigureAwait(false);
            var (page, links) = Page(http, users, i => i.Id);
            return Results.Json(Paged("instances", page.Select(i => new Dictionary<string, object> { ["id"] = i.Id, ["name"] = i.Name }).ToList(), links));
        });

        // PUT replaces the values (and name and description when given); PATCH merges values into the group's.
        app.MapPut(Root + "/configurations/{id}", (string projectId, string id, HttpContext http) => ChangeAsync(store, projectId, id, http, replace: true));
        app.MapPatch(Root + "/configurations/{id}", (string projectId, string id, HttpContext http) => ChangeAsync(store, projectId, id, http, replace: false));

        app.MapDelete(Root + "/configurations/{id}", async (string projectId, string id, HttpContext http) =>
            await store.DeleteAsync(id, projectId, http.RequestAborted).ConfigureAwait(false) switch
            {
                ConfigurationDeletion.Deleted => Results.StatusCode(StatusCodes.Status202Accepted),
                ConfigurationDeletion.InUse => Faults.BadRequest(
                    "A configuration group cannot be deleted if it is associated with one or more non-terminated instances. "
                    + "Detach the configuration group from all non-terminated instances and please try again."),
                _ => GroupNotFound(id),
            });

        // Parameters: by version id (any version, as Trove's load_by_uuid), or by datastore and version id or name (active only).
        app.MapGet(Root + "/datastores/versions/{version}/parameters", async (string projectId, string version, HttpContext http, DatastoreStore datastores) =>
        {
            var found = Locate(await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false), version).Version;
            return found is null ? VersionNotFound(version) : ParameterList(RulesOf(http).For(found.Manager), found);
        });
        app.MapGet(Root + "/datastores/versions/{version}/parameters/{name}", async (string projectId, string version, string name, HttpContext http,
            DatastoreStore datastores) =>
        {
            var found = Locate(await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false), version).Version;
            return found is null ? VersionNotFound(version) : OneParameter(RulesOf(http).For(found.Manager), found, name);
        });
        app.MapGet(Root + "/datastores/{datastore}/versions/{version}/parameters", async (string projectId, string datastore, string version, HttpContext http,
            DatastoreStore datastores) =>
        {
            var (_, found, notFound) = await DatastoreVersionOfAsync(datastores, new JsonObject { ["type"] = datastore, ["version"] = version }, http.RequestAborted)
                .ConfigureAwait(false);
            return notFound ?? ParameterList(RulesOf(http).For(found!.Manager), found);
        });
        app.MapGet(Root + "/datastores/{datastore}/versions/{version}/parameters/{name}", async (string projectId, string datastore, string version, string name,
            HttpContext http, DatastoreStore datastores) =>
        {
            var (_, found, notFound) = await DatastoreVersionOfAsync(datastores, new JsonObject { ["type"] = datastore, ["version"] = version }, http.RequestAborted)
                .ConfigureAwait(false);
            return notFound ?? OneParameter(RulesOf(http).For(found!.Manager), found, name);
        });
    }

    /// <summary>PUT (Trove's update: 202) and PATCH (Trove's edit: 200), then the new values on every instance that uses the group.</summary>
    private static async Task<IResult> ChangeAsync(ConfigurationStore store, string projectId, string id, HttpContext http, bool replace)
    {
        var (body, fault) = await ApiRequest.ReadAsync(http, "configuration").ConfigureAwait(false);
        if (fault is not null) return fault;
        if (await store.GetAsync(id, projectId, http.RequestAborted).ConfigureAwait(false) is not { } group) return GroupNotFound(id);
        if (SchemaError(body!, create: false) is { } schema) return Faults.BadRequest(schema);
        var datastores = http.RequestServices.GetRequiredService<DatastoreStore>();
        var (datastore, version) = Locate(await datastores.ListAsync(http.RequestAborted).ConfigureAwait(false), group.DatastoreVersionId);
        // As Trove's update, a PUT without values leaves the group with none.
        var values = replace ? new JsonObject() : group.Values();
        if (body!["values"] is JsonObject given)
        {
            var check = RulesOf(http).For(version!.Manager).Check(given, datastore!.Name, version.Name);
            if (!check.Ok) return Faults.Unprocessable(check.Error!);
            foreach (var (name, value) in check.Values!) values[name] = value?.DeepClone();
        }
        var newName = replace && body.ContainsKey("name") ? body["name"]!.GetValue<string>() : group.Name;
        var description = replace && body.ContainsKey("description") ? OptionalString(body, "description") : group.Description;
        if (!await store.UpdateAsync(id, newName, description, values, http.RequestAborted).ConfigureAwait(false)) return GroupNotFound(id);
        if (await RefreshInstancesAsync(store, projectId, id, values, http, replace).ConfigureAwait(false) is { } guestFault) return guestFault;
        return replace ? Results.StatusCode(StatusCodes.Status202Accepted) : Results.Ok();
    }

    /// <summary>Trove's <c>_refresh_on_all_instances</c>: the group's new values go to each of the project's instances that use it.</summary>
    private static async Task<IResult?> RefreshInstancesAsync(ConfigurationStore store, string projectId, string id, JsonObject values, HttpContext http, bool replace)
    {
        var users = await store.InstancesUsingAsync(id, projectId, http.RequestAborted).ConfigureAwait(false);
        if (users.Count == 0) return null;
        if (http.RequestServices.GetService<GuestClients>() is not { } guests)
            return Faults.GuestError("The configuration group was saved, but its instances cannot be reached: no guest RPC is set up.");
        var s = http.RequestServices;
        var attachment = new ConfigurationAttachment(RulesOf(http), s.GetRequiredService<InstanceStore>(), s.GetRequiredService<DatastoreStore>(),
            s.GetRequiredService<FlavorStore>(), s.GetService<ILogger<ConfigurationAttachment>>());
        var instances = s.GetRequiredService<InstanceStore>();
        foreach (var user in users)
        {
            if (await instances.GetAsync(user.Id, projectId, http.RequestAborted).ConfigureAwait(false) is not { } instance) continue;
            try
            {
                await attachment.AttachAsync(instance, id, values, guests.For(instance.Id, instance.RpcKey), http.RequestAborted, replace).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Faults.GuestError($"Configuration {id} could not be applied to instance {instance.Id}: {e.Message}");
            }
        }
        return null;
    }

    private static ConfigurationRules RulesOf(HttpContext http) => http.RequestServices.GetRequiredService<ConfigurationRules>();

    private static IResult GroupNotFound(string id) => Faults.NotFound($"Configuration group with ID {id} could not be found.");

    // Trove maps DatastoreVersionNotFound (not in its exception map) to 400.
    private static IResult VersionNotFound(string version) => Faults.BadRequest($"Datastore version '{version}' cannot be found.");

    /// <summary>
    /// Trove's <c>get_datastore_version(type, version)</c>: the datastore by id or name (404 when missing), the version by
    /// id or name within it, or the datastore's default version when none is named; an inactive version is refused.
    /// </summary>
    private static async Task<(Datastore? Datastore, DatastoreVersion? Version, IResult? Fault)> DatastoreVersionOfAsync(DatastoreStore datastores,
        JsonObject? arguments, CancellationToken ct)
    {
        var type = StringOf(arguments?["type"]);
        var versionName = StringOf(arguments?["version"]);
        if (type is null) return (null, null, Faults.BadRequest("Please specify datastore. No default datastore is defined."));
        if (await datastores.FindAsync(type, ct).ConfigureAwait(false) is not { } datastore)
            return (null, null, Faults.NotFound($"Datastore '{type}' cannot be found."));
        var versionId = versionName ?? datastore.DefaultVersionId;
        if (versionId is null) return (datastore, null, Faults.BadRequest($"Default version for datastore '{datastore.Name}' not found."));
        var version = datastore.Versions.FirstOrDefault(v => v.Id == versionId) ?? datastore.Versions.FirstOrDefault(v => v.Name == versionId);
        if (version is null)
        {
            var elsewhere = (await datastores.ListAsync(ct).ConfigureAwait(false)).SelectMany(d => d.Versions).FirstOrDefault(v => v.Id == versionId);
            return (datastore, null, elsewhere is null
                ? VersionNotFound(versionId)
                : Faults.BadRequest($"Datastore '{datastore.Name}' has no version '{elsewhere.Name}'."));
        }
        if (!version.Active) return (datastore, null, Faults.BadRequest($"Datastore version '{version.Name}' is not active."));
        return (datastore, version, null);
    }

    private static string? StringOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static (Datastore? Datastore, DatastoreVersion? Version) Locate(IReadOnlyList<Datastore> catalog, string versionId)
    {
        foreach (var datastore in catalog)
        {
            if (datastore.Versions.FirstOrDefault(v => v.Id == versionId) is { } version) return (datastore, version);
        }
        return (null, null);
    }

    /// <summary>
    /// What Trove's JSON schema (apischema.configuration) refuses with 400: a name and values on create, every name and
    /// description a string of 1 to 255 characters with a letter or digit, values an object, datastore an object.
    /// </summary>
    private static string? SchemaError(JsonObject body, bool create)
    {
        try
        {
            if (create && !body.ContainsKey("values")) return "Validation error: configuration 'values' is a required property";
            if (create && !body.ContainsKey("name")) return "Validation error: configuration 'name' is a required property";
            foreach (var key in new[] { "name", "description" })
            {
                if (!body.TryGetPropertyValue(key, out var value) || (key == "description" && value is null)) continue;
                if (StringOf(value) is not { } text) return $"Validation error: configuration['{key}'] {Shown(value)} is not of type 'string'";
                if (text.Length == 0) return $"Validation error: configuration['{key}'] '' is too short";
                if (text.Length > 255) return $"Validation error: configuration['{key}'] is too long";
                if (!LetterOrDigit().IsMatch(text)) return $"Validation error: configuration['{key}'] '{text}' does not match '^.*[0-9a-zA-Z]+.*$'";
            }
            if (body.TryGetPropertyValue("values", out var values))
            {
                if (values is not JsonObject valuesObject) return $"Validation error: configuration['values'] {Shown(values)} is not of type 'object'";
                _ = valuesObject.Count; // builds the object now: a name given twice is found here, not halfway through the checks
            }
            if (create && body.TryGetPropertyValue("datastore", out var datastore) && datastore is not JsonObject)
                return $"Validation error: configuration['datastore'] {Shown(datastore)} is not of type 'object'";
            return null;
        }
        catch (ArgumentException e)
        {
            return $"Validation error: configuration {e.Message}";
        }
    }

    private static string Shown(JsonNode? node) => node?.ToJsonString() ?? "None";

    [GeneratedRegex("^.*[0-9a-zA-Z]+.*$", RegexOptions.Singleline)]
    private static partial Regex LetterOrDigit();

    private static string? OptionalString(JsonObject body, string key) => StringOf(body[key]);

    /// <summary>Trove's ConfigurationView: what the list shows of each group.</summary>
    private static Dictionary<string, object?> Summary(ConfigurationRecord c, IReadOnlyList<Datastore> catalog)
    {
        var (datastore, version) = Locate(catalog, c.DatastoreVersionId);
        return new Dictionary<string, object?>
        {
            ["id"] = c.Id, ["name"] = c.Name, ["description"] = c.Description, ["created"] = Timestamp(c.CreatedAt), ["updated"] = Timestamp(c.UpdatedAt),
            ["datastore_version_id"] = c.DatastoreVersionId, ["datastore_name"] = datastore?.Name, ["datastore_version_name"] = version?.Name,
        };
    }

    /// <summary>Trove's DetailedConfigurationView: the group with its values and how many of the project's instances use it.</summary>
    private static Dictionary<string, object?> Detail(ConfigurationRecord c, Datastore? datastore, DatastoreVersion? version, int instanceCount) => new()
    {
        ["id"] = c.Id, ["name"] = c.Name, ["description"] = c.Description, ["values"] = c.Values(), ["created"] = Timestamp(c.CreatedAt),
        ["updated"] = Timestamp(c.UpdatedAt), ["instance_count"] = instanceCount, ["datastore_name"] = datastore?.Name,
        ["datastore_version_id"] = c.DatastoreVersionId, ["datastore_version_name"] = version?.Name, ["datastore_version_number"] = version?.Version,
    };

    /// <summary>Trove's datetimes: UTC, to the second, without a zone (<c>2026-11-27T20:25:35</c>).</summary>
    private static string Timestamp(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private static IResult ParameterList(DatastoreParameters parameters, DatastoreVersion version) =>
        Results.Json(new Dictionary<string, object> { ["configuration-parameters"] = parameters.All.Select(p => ParameterView(p, version)).ToList() });

    // An unknown name is Trove's NotFound(uuid=name).
    private static IResult OneParameter(DatastoreParameters parameters, DatastoreVersion version, string name) =>
        parameters.All.FirstOrDefault(p => p.Name == name) is { } found
            ? Results.Json(ParameterView(found, version))
            : Faults.NotFound($"Resource {name} cannot be found.");

    /// <summary>Trove's ConfigurationParameterView: min and max only when set and not zero, as integers.</summary>
    private static Dictionary<string, object> ParameterView(ConfigurationParameter p, DatastoreVersion version)
    {
        var view = new Dictionary<string, object>
        {
            ["name"] = p.Name, ["datastore_version_id"] = version.Id, ["restart_required"] = p.RestartRequired, ["type"] = p.Type,
        };
        if (p.Max is { } max && max != 0) view["max"] = decimal.Truncate(max);
        if (p.Min is { } min && min != 0) view["min"] = decimal.Truncate(min);
        return view;
    }

    /// <summary>A page of <paramref name="all"/> from <c>?marker=</c> (the last id of the previous page), at most <c>?limit=</c> long, and Trove's "next" link.</summary>
    private static (List<T> Page, List<Dictionary<string, string>>? Links) Page<T>(HttpContext http, IReadOnlyList<T> all, Func<T, string> idOf)
    {
        var limit = int.TryParse(http.Request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? Math.Min(l, PageSize) : PageSize;
        var marker = http.Request.Query["marker"].ToString();
        var start = 0;
        if (marker.Length > 0)
        {
            var at = all.Select(idOf).ToList().IndexOf(marker);
            start = at < 0 ? 0 : at + 1;
        }
        var page = all.Skip(start).Take(limit).ToList();
        if (start + page.Count >= all.Count || page.Count == 0) return (page, null);
        var next = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.Path}?limit={limit}&marker={Uri.EscapeDataString(idOf(page[^1]))}";
        return (page, [new() { ["rel"] = "next", ["href"] = next }]);
    }

    private static Dictionary<string, object> Paged(string key, object items, List<Dictionary<string, string>>? links)
    {
        var body = new Dictionary<string, object> { [key] = items };
        if (links is not null) body["links"] = links;
        return body;
    }
}
