using System.Diagnostics;
using System.Net;

namespace Trove.Guest.Bench.Controller;

/// <summary>What one load run measured: completed requests per second and the latency percentiles, in milliseconds.</summary>
public sealed record LoadResult(int Concurrency, double Seconds, long Requests, double RequestsPerSecond, double P50Ms, double P99Ms, long ResponseBytes);

/// <summary>
/// A closed-loop load: <c>concurrency</c> clients, each with its own keep-alive connection, send the same GET one after
/// the other for a fixed time after a warm-up. Every answer must be 200 with the expected length, so a fast error
/// page cannot pass for throughput.
/// </summary>
public static class LoadRun
{
    public static async Task<LoadResult> RunAsync(Uri url, string? token, int concurrency, TimeSpan warmup, TimeSpan duration)
    {
        var clients = Enumerable.Range(0, concurrency).Select(_ => NewClient(token)).ToArray();
        try
        {
            var expected = await GetAsync(clients[0], url);
            await RunForAsync(clients, url, expected, warmup, null);
            var latencies = Enumerable.Range(0, concurrency).Select(_ => new List<long>(4096)).ToArray();
            var clock = Stopwatch.StartNew();
            await RunForAsync(clients, url, expected, duration, latencies);
            var elapsed = clock.Elapsed.TotalSeconds;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            return new LoadResult(concurrency, Math.Round(elapsed, 2), all.Length, Math.Round(all.Length / elapsed, 1), Ms(Percentile(all, 0.50)),
                Ms(Percentile(all, 0.99)), expected);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
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

    private static Task RunForAsync(HttpClient[] clients, Uri url, long expected, TimeSpan duration, List<long>[]? latencies)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        return Task.WhenAll(clients.Select((client, n) => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                var length = await GetAsync(client, url);
                if (length != expected) throw new InvalidOperationException($"GET {url} answered {length} bytes, the first answer had {expected}");
                latencies?[n].Add(Stopwatch.GetTimestamp() - start);
            }
        })));
    }

    /// <summary>The body's length; anything but 200 fails the run.</summary>
    private static async Task<long> GetAsync(HttpClient client, Uri url)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"GET {url}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(body)}");
        return body.Length;
    }

    private static long Percentile(long[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static double Ms(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 2);
}
