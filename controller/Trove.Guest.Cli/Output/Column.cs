using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Output;

/// <summary>A table column: its header and how a row's value is taken from the resource.</summary>
internal sealed record Column(string Label, Func<JsonObject, JsonNode?> Value)
{
    /// <summary>A field of the resource, headed as troveclient heads it; a missing field shows empty.</summary>
    public static Column Field(string field, string? label = null) =>
        new(label ?? LabelFor(field), o => o.TryGetPropertyValue(field, out var value) ? value : "");

    /// <summary>troveclient's <c>print_list</c> labels: underscores to spaces, " id" to " ID", short names upper-cased, words capitalised.</summary>
    public static string LabelFor(string field)
    {
        var label = field.Replace('_', ' ').Replace(" id", " ID", StringComparison.Ordinal);
        return label.Length < 3
            ? label.ToUpperInvariant()
            : string.Join(' ', label.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
    }
}
