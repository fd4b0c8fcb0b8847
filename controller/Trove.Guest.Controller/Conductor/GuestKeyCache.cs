using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.State.Instances;

namespace Trove.Guest.Controller.Conductor;

/// <summary>
/// The instances' RPC keys (<c>InstanceRecord.RpcKey</c>) for <see cref="ConductorHostSerializer"/>, whose lookup is
/// synchronous: loaded at start, and an instance not seen yet (created after start) is read from the store when its
/// first report comes. A lookup that found no key is repeated at most once per <c>missRetry</c> per instance, so a
/// stream of reports naming unknown instances does not turn into a stream of queries.
/// </summary>
public sealed class GuestKeyCache(InstanceStore instances, ILogger logger, TimeSpan? missRetry = null, TimeProvider? clock = null)
{
    /// <summary>Instance ids are UUIDs; anything much longer is not one and is not looked up.</summary>
    private const int MaxIdLength = 255;

    /// <summary>Bounds what unknown ids can make us remember; past it, the remembered misses are forgotten.</summary>
    private const int MaxEntries = 100_000;

    private readonly TimeSpan _missRetry = missRetry ?? TimeSpan.FromSeconds(5);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>What the store said about one instance, and when.</summary>
    private sealed record Entry(IPayloadCipher? Cipher, DateTimeOffset CheckedAt);

    /// <summary>Reads every instance's key (before the conductor consumes, so the first reports need no query).</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        var all = await instances.ListAsync(null, ct).ConfigureAwait(false);
        foreach (var instance in all) _entries[instance.Id] = new Entry(CipherOf(instance), now);
        logger.LogDebug("Loaded RPC keys of {Count} instances", all.Count(i => i.RpcKey is { Length: > 0 }));
    }

    /// <summary>The cipher of the instance's key; null when the instance is unknown or has no key (it reports in plain text).</summary>
    public IPayloadCipher? CipherFor(string instanceId)
    {
        var now = _clock.GetUtcNow();
        if (_entries.TryGetValue(instanceId, out var known) && (known.Cipher is not null || now - known.CheckedAt < _missRetry))
            return known.Cipher;
        if (instanceId.Length > MaxIdLength) return null;
        if (_entries.Count >= MaxEntries)
        {
            foreach (var (id, entry) in _entries)
            {
                if (entry.Cipher is null) _entries.TryRemove(id, out _);
            }
        }
        // The serializer's seam is synchronous; this runs on the RPC server's worker, not on the consumer's thread.
        var instance = instances.GetAsync(instanceId, null, CancellationToken.None).GetAwaiter().GetResult();
        var fresh = new Entry(instance is null ? null : CipherOf(instance), now);
        _entries[instanceId] = fresh;
        if (instance is null) logger.LogDebug("No instance {InstanceId} is known for a report's key", instanceId);
        return fresh.Cipher;
    }

    /// <summary>Whether the instance has a key, so that its guest must encrypt what it reports.</summary>
    public bool HasKey(string instanceId) => CipherFor(instanceId) is not null;

    private static TroveCbcCipher? CipherOf(InstanceRecord instance) => instance.RpcKey is { Length: > 0 } key ? new TroveCbcCipher(key) : null;
}
