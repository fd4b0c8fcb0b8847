using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>
/// A real Swift (proxy, account, container, object servers and memcached, tempauth) on loopback, started and stopped
/// with <c>../shared/services/swift.sh</c>, which tracks its processes by PID.
/// </summary>
public sealed class SwiftService : IAsyncDisposable
{
    private SwiftService(string directory, int port, string token, string storageUrl)
    {
        Directory = directory;
        Port = port;
        Token = token;
        StorageUrl = storageUrl;
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>A tempauth token of test:tester.</summary>
    public string Token { get; }

    /// <summary>The account's URL, <c>http://127.0.0.1:PORT/v1/AUTH_test</c>.</summary>
    public string StorageUrl { get; }

    private static string Script => Path.Combine(RepoPaths.Shared, "services", "swift.sh");

    public static async Task<SwiftService> StartAsync()
    {
        var port = FreePorts.Find(1, 2, 3, 4);
        var dir = Path.Combine(Path.GetTempPath(), $"trove-guest-swift-{port}");
        var start = await Cli.Wrap("bash").WithArguments([Script, "start", dir, port.ToString()])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        if (start.ExitCode != 0) throw new InvalidOperationException($"swift.sh start failed: {start.StandardOutput}\n{start.StandardError}");

        using var http = new HttpClient();
        using var auth = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/auth/v1.0");
        auth.Headers.Add("X-Auth-User", "test:tester");
        auth.Headers.Add("X-Auth-Key", "testing");
        using var response = await http.SendAsync(auth);
        response.EnsureSuccessStatusCode();
        return new SwiftService(dir, port, response.Headers.GetValues("X-Auth-Token").Single(), response.Headers.GetValues("X-Storage-Url").Single());
    }

    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, StorageUrl + "/" + path);
        request.Headers.Add("X-Auth-Token", Token);
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        await Cli.Wrap("bash").WithArguments([Script, "stop", Directory]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
