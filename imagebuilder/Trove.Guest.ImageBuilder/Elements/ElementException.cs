namespace Trove.Guest.ImageBuilder.Elements;

/// <summary>An element set that cannot be built: a missing element, a cycle, a conflict. The message names the chain.</summary>
public sealed class ElementException(string message) : Exception(message);
