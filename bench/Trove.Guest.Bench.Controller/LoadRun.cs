using System.Diagnostics;
using System.Net;

namespace Trove.Guest.Bench.Controller;

/// <summary>What one load measured: completed requests per second and the latency percentiles, in milliseconds.</summary>
public sealed record LoadResult(int Concurrency, double Seconds, long Requests, double RequestsPerSecond, double P50Ms, double P99Ms, long ResponseBytes);

/// <summary>
/// A closed-loop load on one URL: <c>concurrency</c> clients, each with its own keep-alive connection, send the same
/// GET one after the other. It measures in slices (<see cref="MeasureAsync"/>) that add up, so that loads on several
/// servers can take turns and meet the same bursts of a shared machine. Every answer must be 200 with the length of
/// the first one, so a fast error page cannot pass for throughput.
/// </summary>
public sealed class LoadRun : IDisposable
{
    private readonly Uri _url;
    private readonly HttpClient[] _clients;
    private readonly List<long> _latencies = new(1 << 16);
    private long _expected = -1;
    private double _seconds;

    public LoadRun(Uri url, string? token, int concurrency)
    {
        _url = url;
        _clients = Enumerable.Range(0, concurrency).Select(_ => NewClient(token)).ToArray();
    }

    /// <summary>Runs for <paramref name="time"/> without recording (connections opened, code paths compiled).</summary>
    public async Task WarmAsync(TimeSpan time)
    {
        _expected = await GetAsync(_clients[0]);
        await RunForAsync(time, null);
    }

    /// <summary>Runs for <paramref name="time"/>, recording every request.</summary>
    public async Task MeasureAsync(TimeSpan time)
    {
        var perClient = _clients.Select(_ => new List<long>(4096)).ToArray();
        var clock = Stopwatch.StartNew();
        await RunForAsync(time, perClient);
        _seconds += clock.Elapsed.TotalSeconds;
        foreach (var l in perClient) _latencies.AddRange(l);
    }

    public LoadResult Result()
    {
        var all = _latencies.Order().ToArray();
        return new LoadResult(_clients.Length, Math.Round(_seconds, 2), all.Length, Math.Round(all.Length / _seconds, 1), Ms(Percentile(all, 0.50)),
            Ms(Percentile(all, 0.99)), _expected);
    }

    private static HttpClient NewClient(string? token)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseCookies = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (token is not null) client.DefaultRequestHeaders.Add("X-Auth-Token", token);
        return client;
    }

    private Task RunForAsync(TimeSpan duration, List<long>[]? latencies)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        return Task.WhenAll(_clients.Select((client, n) => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                var length = await GetAsync(client);
                if (length != _expected) throw new InvalidOperationException($"GET {_url} answered {length} bytes, the first answer had {_expected}");
                latencies?[n].Add(Stopwatch.GetTimestamp() - start);
            }
        })));
    }

    /// <summary>The body's length; anything but 200 fails the run.</summary>
    private async Task<long> GetAsync(HttpClient client)
    {
        using var response = await client.GetAsync(_url, HttpCompletionOption.ResponseContentRead);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"GET {_url}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        return body.Length;
    }

    private static long Percentile(long[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static double Ms(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 2);

    public void Dispose()
    {
        foreach (var c in _clients) c.Dispose();
    }
}
