using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Protocol;

internal static class JsonNodeExtensions
{
    /// <summary>The node itself when it can be put into another container, else a copy (a node has one parent).</summary>
    public static JsonNode? Detached(this JsonNode? node) => node?.Parent is null ? node : node.DeepClone();
}
