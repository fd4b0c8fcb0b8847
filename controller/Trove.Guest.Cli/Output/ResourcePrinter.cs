using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Output;

/// <summary>
/// What a command prints on stdout: troveclient's tables by default; with <c>--json</c> the API's own JSON for the
/// resource (an object) or the resources (an array), indented, and nothing else, so that scripts can parse stdout.
/// </summary>
internal sealed class ResourcePrinter(TextWriter stdout, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public bool Json => json;

    /// <summary>
    /// A list: a table ordered by <paramref name="orderBy"/> (of each resource's <paramref name="row"/> view when given), or
    /// the JSON array of the resources as the API sent them.
    /// </summary>
    public async Task ListAsync(IReadOnlyList<JsonObject> resources, IReadOnlyList<Column> columns, int orderBy = 0, Func<JsonObject, JsonObject>? row = null)
    {
        if (json)
        {
            await stdout.WriteLineAsync(new JsonArray([.. resources.Select(i => i.DeepClone())]).ToJsonString(Indented)).ConfigureAwait(false);
            return;
        }
        var items = row is null ? resources : resources.Select(row).ToList();
        // prettytable right-aligns a column whose first row holds a number.
        var right = columns.Select(c => items.Count > 0 && c.Value(items[0]) is JsonValue v && v.GetValueKind() is JsonValueKind.Number).ToList();
        var table = new PrettyTable(columns.Select(c => c.Label).ToList(), right);
        foreach (var item in items) table.Add([.. columns.Select(c => Cell(c.Value(item)))]);
        table.SortBy(orderBy);
        await stdout.WriteLineAsync(table.Render()).ConfigureAwait(false);
    }

    /// <summary>One resource: a Property/Value table of <paramref name="shown"/> (troveclient's flattened view), or the resource's JSON.</summary>
    public async Task ObjectAsync(JsonObject resource, JsonObject? shown = null)
    {
        if (json)
        {
            await stdout.WriteLineAsync(resource.ToJsonString(Indented)).ConfigureAwait(false);
            return;
        }
        var table = new PrettyTable(["Property", "Value"], [false, false]);
        foreach (var (name, value) in shown ?? resource) table.Add(name, Cell(value));
        table.SortBy(0);
        await stdout.WriteLineAsync(table.Render()).ConfigureAwait(false);
    }

    /// <summary>A sentence for people ("Request to delete instance x has been accepted."); --json prints nothing for it.</summary>
    public async Task MessageAsync(string text)
    {
        if (!json) await stdout.WriteLineAsync(text).ConfigureAwait(false);
    }

    /// <summary>A value as troveclient shows it: Python's None/True/False, numbers as written, nested values as JSON.</summary>
    public static string Cell(JsonNode? node) => node switch
    {
        null => "None",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => "True",
            JsonValueKind.False => "False",
            JsonValueKind.Null => "None",
            JsonValueKind.Number => v.ToJsonString(),
            _ => v.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };
}
