using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Protocol;

/// <summary>Small JSON helpers the wire code and its users share.</summary>
public static class JsonNodeExtensions
{
    /// <summary>The node itself when it can be put into another container, else a copy (a node has one parent).</summary>
    internal static JsonNode? Detached(this JsonNode? node) => node?.Parent is null ? node : node.DeepClone();

    /// <summary>
    /// The text of a JSON string; null for anything else, and for a string .NET cannot hold (a lone surrogate escape,
    /// which Python writes happily).
    /// </summary>
    public static string? AsString(this JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return null;
        try
        {
            return v.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
