namespace Trove.Guest.TaskManager.Backups;

/// <summary>
/// Deletes a backup's objects from Swift: the object at its location, and the segments of a static large object
/// (<c>?multipart-manifest=delete</c>, which deletes a plain object as it is). Only locations inside the controller's
/// own storage account are touched. A location a VM guest reported (its own address for the store, see
/// <see cref="Compute.IComputeDriver.GuestUrl"/>) is mapped back to the controller's.
/// </summary>
public sealed class BackupObjects(HttpClient http, ObjectStoreContext store, Func<string, string>? guestUrl = null)
{
    public async Task DeleteAsync(string location, CancellationToken ct)
    {
        var (token, storageUrl) = await store.CredentialsAsync(ct).ConfigureAwait(false);
        if (guestUrl?.Invoke(storageUrl) is { } guestStorageUrl && guestStorageUrl != storageUrl
            && location.StartsWith(guestStorageUrl.TrimEnd('/') + "/", StringComparison.Ordinal))
            location = storageUrl.TrimEnd('/') + location[guestStorageUrl.TrimEnd('/').Length..];
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri) || !location.StartsWith(storageUrl.TrimEnd('/') + "/", StringComparison.Ordinal)
            || uri.AbsolutePath.Contains("/../", StringComparison.Ordinal))
            throw new InvalidOperationException($"{location} is not in this controller's object store account");
        using var request = new HttpRequestMessage(HttpMethod.Delete, location + "?multipart-manifest=delete");
        request.Headers.Add("X-Auth-Token", token);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        // Already gone is as good as deleted.
        if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.NotFound)
            throw new InvalidOperationException($"the object store answered HTTP {(int)response.StatusCode} for {location}");
    }
}
