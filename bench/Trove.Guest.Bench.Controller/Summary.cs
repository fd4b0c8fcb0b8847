using System.Globalization;
using System.Text.Json.Nodes;

namespace Trove.Guest.Bench.Controller;

/// <summary>The table the lead quotes: every ratio is against the reference measured in the same run.</summary>
public static class Summary
{
    private const string Floor = "floor: same bytes, no auth";
    private const string FloorAuth = "floor: same bytes behind our token check";

    public static void Print(List<JsonObject> results, List<CreateResult> creates, List<Dictionary<string, double>> floors, List<string> loads, int count,
        double seconds)
    {
        var w = Console.Out;
        w.WriteLine();
        w.WriteLine($"== API throughput: {count:N0} instances in the state store, {seconds:0.#} s per cell (3 slices, the servers of a row taking turns) after 1 s warm-up, client in the same process ==");
        w.WriteLine("reference: python3-trove's API is not runnable here (Keystone, Nova); the floor is the same ASP.NET Core answering the same bytes");
        w.WriteLine($"{"db",-9}{"endpoint",-6}{"clients",8}{"floor r/s",11}{"+auth r/s",11}{"ours r/s",10}{"ours p50",10}{"ours p99",10}{"ours/floor",12}{"ours/+auth",12}");
        var api = results.Where(r => r["endpoint"] is not null).ToList();
        foreach (var provider in api.Select(r => Str(r, "provider")).Distinct())
        {
            foreach (var endpoint in new[] { "list", "show" })
            {
                foreach (var clients in new[] { 1, 8 })
                {
                    JsonObject? Cell(string server) => api.FirstOrDefault(r => Str(r, "provider") == provider && Str(r, "endpoint") == endpoint
                        && r["concurrency"]!.GetValue<int>() == clients && Str(r, "server") == server);
                    var floor = Cell(Floor) ?? api.FirstOrDefault(r => Str(r, "endpoint") == endpoint && r["concurrency"]!.GetValue<int>() == clients && Str(r, "server") == Floor);
                    var auth = Cell(FloorAuth);
                    var ours = Cell("ours");
                    if (ours is null) continue;
                    w.WriteLine($"{provider,-9}{endpoint,-6}{clients,8}{Rps(floor),11}{Rps(auth),11}{Rps(ours),10}{Num(ours, "p50_ms") + " ms",10}"
                        + $"{Num(ours, "p99_ms") + " ms",10}{Ratio(ours, floor),12}{Ratio(ours, auth),12}");
                }
            }
        }
        w.WriteLine("(the floor without auth is measured on the SQLite pass only; 'db' says where tokens and instances live)");
        foreach (var q in results.Where(r => r["query"] is not null))
            w.WriteLine($"  {Str(q, "provider"),-9}{q["median_ms"]!.GetValue<double>(),9:0.000} ms  {Str(q, "query")}");
        var bytes = api.FirstOrDefault(r => Str(r, "endpoint") == "list")?["bytes"];
        if (bytes is not null) w.WriteLine($"  list response: {bytes.GetValue<long>():N0} bytes");

        if (creates.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"== create-to-healthy: {creates.Count} creates one after the other, process compute driver, medians ==");
            var steps = creates.SelectMany(c => c.StepsMs.Keys).Distinct().ToList();
            foreach (var step in steps)
                w.WriteLine($"  {step,-14}{Median(creates.Select(c => c.StepsMs.GetValueOrDefault(step))) / 1000,8:0.000} s   (each: {Each(creates.Select(c => c.StepsMs.GetValueOrDefault(step) / 1000))})");
            var task = Median(creates.Select(c => c.TaskS));
            var total = Median(creates.Select(c => c.TotalS));
            w.WriteLine("  (allocate: the volume, the agent's configuration, and the agent's start until it consumes from its topic)");
            w.WriteLine($"  {"task (table)",-14}{task,8:0.000} s   (started by the API to finished; each: {Each(creates.Select(c => c.TaskS))})");
            w.WriteLine($"  {"POST answered",-14}{Median(creates.Select(c => c.PostMs)) / 1000,8:0.000} s");
            w.WriteLine($"  {"total",-14}{total,8:0.000} s   (POST to the first show with ACTIVE/HEALTHY, 100 ms polls; each: {Each(creates.Select(c => c.TotalS))})");
            w.WriteLine("  reference, the floor (floor.sh, run before each create):");
            foreach (var step in floors[0].Keys)
                w.WriteLine($"    {step,-32}{Median(floors.Select(f => f[step])) / 1000,8:0.000} s");
            var floorTotal = Median(floors.Select(f => f["total"])) / 1000;
            // Each create is paired with the floor run just before it: the pair met the same load.
            var pairs = creates.Zip(floors, (c, f) => (Ratio: c.TotalS / (f["total"] / 1000), Excess: c.TotalS - f["total"] / 1000)).ToList();
            w.WriteLine($"  ours/floor: {Median(pairs.Select(p => p.Ratio)):0.00}x median of the pairs (each: {string.Join(", ", pairs.Select(p => p.Ratio.ToString("0.00", CultureInfo.InvariantCulture) + "x"))}); "
                + $"medians {total:0.000} s / {floorTotal:0.000} s = {total / floorTotal:0.00}x");
            w.WriteLine($"  ours - floor: {Median(pairs.Select(p => p.Excess)):0.000} s median of the pairs (each: {Each(pairs.Select(p => p.Excess))})");
        }
        w.WriteLine();
        w.WriteLine($"load average (1/5/15 min) at start: {loads[0]}; after the API part: {loads[1]}; at the end: {loads[^1]}; {Environment.ProcessorCount} CPUs");
    }

    private static string Str(JsonObject r, string key) => r[key]?.GetValue<string>() ?? "";

    private static string Rps(JsonObject? r) => r is null ? "-" : r["req_per_s"]!.GetValue<double>().ToString("0", CultureInfo.InvariantCulture);

    private static string Num(JsonObject r, string key) => r[key]!.GetValue<double>().ToString("0.00", CultureInfo.InvariantCulture);

    private static string Ratio(JsonObject ours, JsonObject? reference) => reference is null ? "-"
        : (ours["req_per_s"]!.GetValue<double>() / reference["req_per_s"]!.GetValue<double>()).ToString("0.00", CultureInfo.InvariantCulture) + "x";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Each(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("0.000", CultureInfo.InvariantCulture)));
}
