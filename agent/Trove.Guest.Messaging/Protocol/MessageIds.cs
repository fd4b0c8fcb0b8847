namespace Trove.Guest.Messaging.Protocol;

/// <summary>Ids in oslo's format: a uuid4 as 32 lower-case hex characters without dashes.</summary>
public static class MessageIds
{
    public static string New() => Guid.NewGuid().ToString("N");
}
