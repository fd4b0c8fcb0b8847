using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

// trove-guest-bench server --url U --topic T --server S
//     an RPC server with echo(value); prints READY, stops on SIGTERM/Ctrl-C.
// trove-guest-bench client --url U --topic T --count N --concurrency C
//     N echo("x") calls spread over C concurrent callers after one warm-up call; prints one JSON line with
//     calls_per_s and latency percentiles in ms, computed exactly as oslo_rpc_client.py does.

var options = ParseArgs(args);
var url = options.GetValueOrDefault("url") ?? "rabbit://guest:guest@127.0.0.1:5682/";
var topic = options.GetValueOrDefault("topic") ?? "bench.cs";
var exchange = options.GetValueOrDefault("exchange") ?? "trove";

if (args.Length > 0 && args[0] == "server")
{
    var endpoint = new RpcEndpoint().Map("echo", (r, _) => ValueTask.FromResult(r.Arguments["value"]?.DeepClone()));
    await using var server = new RpcServer(
        new RpcServerOptions { TransportUrl = url, Exchange = exchange, Topic = topic, Server = options.GetValueOrDefault("server") ?? "b1" },
        new RpcDispatcher([endpoint]));
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    await server.StartAsync(stop.Token);
    Console.WriteLine("READY");
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }
    await server.StopAsync(CancellationToken.None);
    return 0;
}

if (args.Length > 0 && args[0] == "client")
{
    var count = int.Parse(options.GetValueOrDefault("count") ?? "2000", CultureInfo.InvariantCulture);
    var concurrency = int.Parse(options.GetValueOrDefault("concurrency") ?? "1", CultureInfo.InvariantCulture);
    var started = Stopwatch.StartNew();
    await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = url, Exchange = exchange, DefaultTimeout = TimeSpan.FromSeconds(30) });
    var target = new RpcTarget(topic);
    JsonObject Args() => new() { ["value"] = "x" };
    await client.CallAsync(target, "echo", Args()); // warm-up: reply queue, JIT
    var startup = started.Elapsed.TotalSeconds;

    var latencies = new List<double>(count);
    var errors = 0;
    var remaining = count;
    var gate = new Lock();
    var wall = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (Interlocked.Decrement(ref remaining) >= 0)
        {
            var t = Stopwatch.GetTimestamp();
            try
            {
                await client.CallAsync(target, "echo", Args());
                var ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                lock (gate) latencies.Add(ms);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref errors);
            }
        }
    })).ToArray();
    await Task.WhenAll(workers);
    var seconds = wall.Elapsed.TotalSeconds;
    latencies.Sort();
    var line = new JsonObject
    {
        ["peer"] = "csharp",
        ["method"] = "echo",
        ["count"] = count,
        ["concurrency"] = concurrency,
        ["errors"] = errors,
        ["wall_s"] = Math.Round(seconds, 3),
        ["calls_per_s"] = Math.Round(latencies.Count / seconds, 1),
        ["p50_ms"] = Pct(latencies, 0.50),
        ["p90_ms"] = Pct(latencies, 0.90),
        ["p99_ms"] = Pct(latencies, 0.99),
        ["max_ms"] = Pct(latencies, 1.0),
        ["startup_s"] = Math.Round(startup, 3),
    };
    Console.WriteLine(PythonJson.Dumps(line));
    return errors == 0 ? 0 : 1;
}

Console.Error.WriteLine("usage: trove-guest-bench server|client --url URL [--topic T] [--server S] [--count N] [--concurrency C]");
return 64;

// oslo_rpc_client.py's percentile: index round(q*n)-1, clamped.
static double? Pct(List<double> sorted, double q)
{
    if (sorted.Count == 0) return null;
    var i = Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Round(q * sorted.Count, MidpointRounding.ToEven) - 1));
    return Math.Round(sorted[i], 3);
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var d = new Dictionary<string, string>();
    for (var i = 1; i + 1 < args.Length; i += 2)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal)) d[args[i][2..]] = args[i + 1];
    }
    return d;
}
