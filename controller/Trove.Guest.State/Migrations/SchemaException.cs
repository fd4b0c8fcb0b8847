namespace Trove.Guest.State.Migrations;

/// <summary>The database's schema cannot be brought to this controller's: the message says why and what to do.</summary>
public sealed class SchemaException(string message, Exception? inner = null) : Exception(message, inner);
