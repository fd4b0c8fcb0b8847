using System.Text.Json.Nodes;

namespace Trove.Guest.TaskManager.Backups;

/// <summary>
/// What a guest needs in a request's context to reach the object store, as Trove's API passes it: the user's token and
/// a service catalog with the <c>object-store</c> endpoint (guest contract §6.4). Trove forwards the caller's Keystone
/// token; this controller signs in to Swift itself (TempAuth/v1: <c>X-Auth-User</c>/<c>X-Auth-Key</c>) and reuses the
/// token until it is about to expire.
/// </summary>
public sealed class ObjectStoreContext(HttpClient http, Uri authUrl, string user, Func<string> key, TimeProvider? clock = null)
{
    private static readonly TimeSpan TokenReuse = TimeSpan.FromMinutes(30);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private (string Token, string StorageUrl, DateTimeOffset At)? _cached;

    /// <summary>
    /// Adds <c>auth_token</c> and <c>service_catalog</c> to <paramref name="context"/>; <paramref name="guestUrl"/> turns
    /// the storage URL the controller uses into the one the guest can reach (a VM behind NAT).
    /// </summary>
    public async Task AddToAsync(JsonObject context, CancellationToken ct, Func<string, string>? guestUrl = null)
    {
        var (token, hostStorageUrl) = await SignInAsync(ct).ConfigureAwait(false);
        var storageUrl = guestUrl?.Invoke(hostStorageUrl) ?? hostStorageUrl;
        context["auth_token"] = token;
        context["service_catalog"] = new JsonArray(new JsonObject
        {
            ["type"] = "object-store", ["name"] = "swift",
            ["endpoints"] = new JsonArray(new JsonObject { ["region"] = "RegionOne", ["publicURL"] = storageUrl }),
        });
    }

    /// <summary>The controller's token and storage URL.</summary>
    public Task<(string Token, string StorageUrl)> CredentialsAsync(CancellationToken ct) => SignInAsync(ct);

    private async Task<(string Token, string StorageUrl)> SignInAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_cached is { } c && _clock.GetUtcNow() - c.At < TokenReuse) return (c.Token, c.StorageUrl);
            using var request = new HttpRequestMessage(HttpMethod.Get, authUrl);
            request.Headers.Add("X-Auth-User", user);
            request.Headers.Add("X-Auth-Key", key());
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"the object store refused the controller's sign-in at {authUrl}: HTTP {(int)response.StatusCode}");
            var token = response.Headers.TryGetValues("X-Auth-Token", out var t) ? t.First() : throw new InvalidDataException($"{authUrl} sent no X-Auth-Token");
            var storage = response.Headers.TryGetValues("X-Storage-Url", out var s) ? s.First() : throw new InvalidDataException($"{authUrl} sent no X-Storage-Url");
            _cached = (token, storage, _clock.GetUtcNow());
            return (token, storage);
        }
        finally
        {
            _lock.Release();
        }
    }
}
