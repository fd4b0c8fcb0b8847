using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Testing;

/// <summary>
/// A real Glance (image API v2, file store, sqlite, no Keystone) on loopback, started and stopped with
/// <c>../shared/services/glance.sh</c>, which tracks its process by PID. It ignores tokens and acts as an admin of
/// project <c>test-project</c>.
/// </summary>
public sealed class GlanceService : IAsyncDisposable
{
    private readonly HttpClient _http;

    private GlanceService(string directory, int port)
    {
        Directory = directory;
        Port = port;
        Url = $"http://127.0.0.1:{port}";
        _http = new HttpClient { BaseAddress = new Uri(Url + "/") };
        _http.DefaultRequestHeaders.Add("Accept", "application/json");
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>The endpoint as a Keystone catalog would list it, <c>http://127.0.0.1:PORT</c>.</summary>
    public string Url { get; }

    private static string Script => Path.Combine(RepoPaths.Shared, "services", "glance.sh");

    public static async Task<GlanceService> StartAsync()
    {
        var port = FreePorts.Find();
        var service = new GlanceService(Path.Combine(Path.GetTempPath(), $"trove-guest-glance-{port}"), port);
        await service.StartAgainAsync();
        return service;
    }

    /// <summary>Starts it (again, after <see cref="StopAsync"/>) on the same port and data.</summary>
    public async Task StartAgainAsync()
    {
        var start = await Cli.Wrap("bash").WithArguments([Script, "start", Directory, Port.ToString()])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        if (start.ExitCode != 0) throw new InvalidOperationException($"glance.sh start failed: {start.StandardOutput}\n{start.StandardError}");
    }

    public async Task StopAsync() =>
        await Cli.Wrap("bash").WithArguments([Script, "stop", Directory]).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();

    /// <summary>Every image this project sees (all pages).</summary>
    public async Task<List<JsonObject>> ImagesAsync(string query = "")
    {
        var images = new List<JsonObject>();
        string? next = "v2/images?limit=100" + (query.Length > 0 ? "&" + query : "");
        while (next is not null)
        {
            var page = JsonNode.Parse(await _http.GetStringAsync(next))!;
            images.AddRange(page["images"]!.AsArray().Select(i => i!.AsObject()));
            next = page["next"]?.GetValue<string>().TrimStart('/');
        }
        return images;
    }

    public async Task<JsonObject?> ImageAsync(string id)
    {
        using var response = await _http.GetAsync($"v2/images/{id}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task<byte[]> DownloadAsync(string id) => await _http.GetByteArrayAsync($"v2/images/{id}/file");

    /// <summary>Creates an image record (no data: it stays queued) with the given body.</summary>
    public async Task<JsonObject> CreateAsync(JsonObject body)
    {
        using var response = await _http.PostAsync("v2/images", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"glance create: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
