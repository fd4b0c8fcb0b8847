using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Output;

/// <summary>
/// The flattened views troveclient's shell prints for one resource (<c>_print_instance</c>, <c>_print_object</c>), and the
/// row values of its lists. The JSON output never goes through these: it is the API's object as it came.
/// </summary>
internal static class TroveViews
{
    /// <summary><c>_print_instance</c>: flavor, volume, addresses, datastore, configuration, replication and fault as plain values; no links.</summary>
    public static JsonObject Instance(JsonObject instance)
    {
        var info = (JsonObject)instance.DeepClone();
        info["flavor"] = Inner(instance, "flavor", "id");
        if (instance["volume"] is JsonObject volume)
        {
            info["volume"] = volume["size"]?.DeepClone();
            if (volume.ContainsKey("used")) info["volume_used"] = volume["used"]?.DeepClone();
        }
        if (instance["ip"] is JsonArray ip) info["ip"] = string.Join(", ", ip.Select(ResourcePrinter.Cell));
        if (instance["datastore"] is JsonObject datastore)
        {
            info["datastore"] = datastore["type"]?.DeepClone();
            info["datastore_version"] = datastore["version"]?.DeepClone();
        }
        if (instance["configuration"] is JsonObject) info["configuration"] = Inner(instance, "configuration", "id");
        if (instance["replica_of"] is JsonObject) info["replica_of"] = Inner(instance, "replica_of", "id");
        if (instance["replicas"] is JsonArray replicas)
            info["replicas"] = string.Join(", ", replicas.OfType<JsonObject>().Select(r => ResourcePrinter.Cell(r["id"])));
        if (instance["fault"] is JsonObject fault)
        {
            info["fault"] = fault["message"]?.DeepClone();
            info["fault_date"] = fault["created"]?.DeepClone();
            if (fault["details"] is JsonValue details && details.GetValueKind() is not (JsonValueKind.Null or JsonValueKind.False)
                && ResourcePrinter.Cell(details).Length > 0)
                info["fault_details"] = details.DeepClone();
        }
        info.Remove("links");
        return info;
    }

    /// <summary><c>_print_object</c>: no links, a flavor's str_id as its id, the datastore as type and version.</summary>
    public static JsonObject Object(JsonObject resource)
    {
        var info = (JsonObject)resource.DeepClone();
        info.Remove("links");
        if (info.ContainsKey("str_id"))
        {
            info["id"] = resource["id"] is JsonValue id && id.GetValueKind() != JsonValueKind.Null ? id.DeepClone() : resource["str_id"]?.DeepClone();
            info.Remove("str_id");
        }
        if (resource["datastore"] is JsonObject datastore && datastore.ContainsKey("type"))
        {
            info["datastore"] = datastore["type"]?.DeepClone();
            info["datastore_version"] = datastore["version"]?.DeepClone();
        }
        return info;
    }

    /// <summary>The row of <c>trove list</c>: flavor_id, size ('-' without a volume), region, datastore and its version.</summary>
    public static JsonObject InstanceRow(JsonObject instance)
    {
        var row = (JsonObject)instance.DeepClone();
        row["flavor_id"] = Inner(instance, "flavor", "id");
        row["size"] = instance["volume"] is JsonObject volume ? volume["size"]?.DeepClone() : "-";
        if (!row.ContainsKey("region")) row["region"] = "";
        if (instance["datastore"] is JsonObject datastore)
        {
            if (datastore["version"] is { } version) row["datastore_version"] = version.DeepClone();
            row["datastore"] = datastore["type"]?.DeepClone();
        }
        return row;
    }

    private static JsonNode? Inner(JsonObject resource, string field, string inner) =>
        resource[field] is JsonObject o ? o[inner]?.DeepClone() : resource[field]?.DeepClone();
}
