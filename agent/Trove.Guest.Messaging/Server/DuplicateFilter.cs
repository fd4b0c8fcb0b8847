namespace Trove.Guest.Messaging.Server;

/// <summary>
/// oslo's <c>_MsgIdCache</c>: remembers the last N <c>_unique_id</c>s (16 in oslo) so a re-sent copy of a message is
/// dropped instead of run twice.
/// </summary>
public sealed class DuplicateFilter(int capacity = DuplicateFilter.OsloCapacity)
{
    public const int OsloCapacity = 16;
    private readonly Queue<string> _order = new(capacity);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>True the first time an id is seen (the message should run); false for a duplicate.</summary>
    public bool TryAdd(string uniqueId)
    {
        lock (_lock)
        {
            if (!_seen.Add(uniqueId)) return false;
            _order.Enqueue(uniqueId);
            if (_order.Count > capacity) _seen.Remove(_order.Dequeue());
            return true;
        }
    }
}
