namespace Trove.Guest.TaskManager.Backups;

/// <summary>
/// Deletes a backup's objects from Swift: the object at its location, and the segments of a static large object
/// (<c>?multipart-manifest=delete</c>, which deletes a plain object as it is). Only locations inside the controller's
/// own storage account are touched.
/// </summary>
public sealed class BackupObjects(HttpClient http, ObjectStoreContext store)
{
    public async Task DeleteAsync(string location, CancellationToken ct)
    {
        var (token, storageUrl) = await store.CredentialsAsync(ct).ConfigureAwait(false);
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
