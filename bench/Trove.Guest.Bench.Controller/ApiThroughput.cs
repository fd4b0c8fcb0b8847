using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Instances;
using Trove.Guest.Testing;

namespace Trove.Guest.Bench.Controller;

/// <summary>
/// Part 1: our API (<see cref="TroveApi.Build"/>, in this process) on a seeded state database, list and show at 1 and 8
/// concurrent clients, taking turns with <see cref="FloorApi"/> answering the same bytes (bare, and behind our token check), plus
/// the state queries alone: the list's SELECT on a connection kept open, the same through <see cref="InstanceStore"/>
/// (a connection opened per call, as every request does), and one token validation.
/// </summary>
public sealed class ApiThroughput(Action<JsonObject> report, TimeSpan warmup, TimeSpan duration)
{
    private const int Rounds = 3;
    private static readonly int[] Concurrencies = [1, 8];

    public async Task RunAsync(string provider, StateDatabase database, int count, bool withBareFloor, CancellationToken ct)
    {
        var seeding = Stopwatch.StartNew();
        var state = await StateSeeder.SeedAsync(database, count, ct);
        report(new JsonObject
        {
            ["part"] = "api", ["provider"] = provider, ["run"] = "seed", ["instances"] = state.Instances, ["replicas"] = state.Replicas,
            ["backups"] = state.Backups, ["running_backups"] = state.RunningBackups, ["seed_s"] = Math.Round(seeding.Elapsed.TotalSeconds, 2),
        });

        var ours = $"http://127.0.0.1:{FreePorts.Find()}";
        await using var api = TroveApi.Build(new ApiOptions { ListenUrl = ours, HeartbeatExpiry = TimeSpan.FromDays(1) }, database,
            logging: b => b.ClearProviders());
        await api.StartAsync(ct);
        var listPath = $"/{state.ProjectId}/instances";
        var showPath = $"/{state.ProjectId}/instances/{state.ShownInstanceId}";
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("X-Auth-Token", state.Token);
        var list = await http.GetByteArrayAsync(ours + "/v1.0" + listPath, ct);
        var show = await http.GetByteArrayAsync(ours + "/v1.0" + showPath, ct);
        Check(list, show, state);

        var floorUrl = $"http://127.0.0.1:{FreePorts.Find()}";
        await using var floor = FloorApi.Build(floorUrl, database, list, show);
        await floor.StartAsync(ct);

        foreach (var (endpoint, path) in new[] { ("list", listPath), ("show", showPath) })
        {
            foreach (var concurrency in Concurrencies)
            {
                List<(string Server, Uri Url, string? Token)> servers =
                [
                    ("floor: same bytes behind our token check", new Uri(floorUrl + "/v1.0" + path), state.Token),
                    ("ours", new Uri(ours + "/v1.0" + path), state.Token),
                ];
                if (withBareFloor) servers.Insert(0, ("floor: same bytes, no auth", new Uri(floorUrl + "/bare" + path), null));
                await MeasureAsync(provider, endpoint, concurrency, servers);
            }
        }
        await QueriesAsync(provider, database, state, ct);
        await floor.StopAsync(ct);
        await api.StopAsync(ct);
    }

    private static void Check(byte[] list, byte[] show, SeededState state)
    {
        var instances = JsonNode.Parse(list)!["instances"]!.AsArray();
        if (instances.Count != state.Instances) throw new InvalidOperationException($"the list has {instances.Count} instances, not {state.Instances}");
        var shown = JsonNode.Parse(show)!["instance"]!;
        if (shown["status"]!.GetValue<string>() != "BACKUP" || shown["replicas"]!.AsArray().Count != 2)
            throw new InvalidOperationException($"the shown instance is not a source with a running backup: {shown.ToJsonString()}");
    }

    /// <summary>The servers take turns, <see cref="Rounds"/> slices each, so a burst of the shared machine hits them alike.</summary>
    private async Task MeasureAsync(string provider, string endpoint, int concurrency, List<(string Server, Uri Url, string? Token)> servers)
    {
        var loads = servers.Select(s => new LoadRun(s.Url, s.Token, concurrency)).ToList();
        try
        {
            foreach (var load in loads) await load.WarmAsync(warmup);
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var load in loads) await load.MeasureAsync(duration / Rounds);
            }
            foreach (var (server, load) in servers.Select(s => s.Server).Zip(loads))
            {
                var r = load.Result();
                report(new JsonObject
                {
                    ["part"] = "api", ["provider"] = provider, ["endpoint"] = endpoint, ["server"] = server, ["concurrency"] = concurrency,
                    ["req_per_s"] = r.RequestsPerSecond, ["p50_ms"] = r.P50Ms, ["p99_ms"] = r.P99Ms, ["requests"] = r.Requests, ["bytes"] = r.ResponseBytes,
                });
            }
        }
        finally
        {
            foreach (var load in loads) load.Dispose();
        }
    }

    /// <summary>The database's share: medians of sequential calls, in milliseconds.</summary>
    private async Task QueriesAsync(string provider, StateDatabase database, SeededState state, CancellationToken ct)
    {
        await using (var open = await database.OpenAsync(ct))
        {
            var raw = await MedianMsAsync(200, async () =>
            {
                await using var select = open.CreateCommand();
                select.CommandText = """
                    SELECT id, project_id, name, flavor_id, volume_size_gb, datastore_version_id, configuration_id, replica_of, status, task_status,
                        compute_json, rpc_key, fault, last_heartbeat_at, last_heartbeat_sent, root_enabled_at, created_at, updated_at, deleted_at
                    FROM instances WHERE deleted_at IS NULL AND project_id = @project ORDER BY created_at, id
                    """;
                var parameter = select.CreateParameter();
                parameter.ParameterName = "@project";
                parameter.Value = state.ProjectId;
                select.Parameters.Add(parameter);
                await using var reader = await select.ExecuteReaderAsync(ct);
                var values = new object[reader.FieldCount];
                var rows = 0;
                while (await reader.ReadAsync(ct))
                {
                    reader.GetValues(values);
                    rows++;
                }
                if (rows != state.Instances) throw new InvalidOperationException($"the SELECT read {rows} rows");
            });
            Query($"the list's SELECT of {state.Instances:N0} rows alone, on a connection kept open", raw);
        }
        var instances = new InstanceStore(database);
        Query("InstanceStore.ListAsync (opens a connection, as each request does)", await MedianMsAsync(200, () => instances.ListAsync(state.ProjectId, ct)));
        var backups = new BackupStore(database);
        Query("BackupStore.ListAsync (the list reads the project's backups for BACKUP)", await MedianMsAsync(200, () => backups.ListAsync(state.ProjectId, null, ct)));
        Query("views + JSON of the list, in memory (no I/O)", await ViewsAndJsonMsAsync(database, state, ct));
        Query("InstanceStore.GetAsync (show's first query)", await MedianMsAsync(500, () => instances.GetAsync(state.ShownInstanceId, state.ProjectId, ct)));
        var identity = new IdentityStore(database);
        Query("IdentityStore.ValidateAsync (the token check of every request)", await MedianMsAsync(500, () => identity.ValidateAsync(state.Token, ct)));
        Query("opening a state connection (with its pragmas on SQLite)", await MedianMsAsync(500, async () => await (await database.OpenAsync(ct)).DisposeAsync()));

        void Query(string what, double ms) => report(new JsonObject { ["part"] = "api", ["provider"] = provider, ["query"] = what, ["median_ms"] = ms });
    }

    /// <summary>What the list does after its queries: the views of every instance and their JSON, as Results.Json writes it.</summary>
    private static async Task<double> ViewsAndJsonMsAsync(StateDatabase database, SeededState state, CancellationToken ct)
    {
        var http = new DefaultHttpContext();
        http.Request.Scheme = "http";
        http.Request.Host = new HostString("127.0.0.1", 8779);
        var all = await new InstanceStore(database).ListAsync(state.ProjectId, ct);
        var views = new InstanceViews(http, state.ProjectId, await new DatastoreStore(database).ListAsync(ct), TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        var replicas = all.Where(i => i.ReplicaOf is not null).ToLookup(i => i.ReplicaOf!);
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        return await MedianMsAsync(100, () =>
        {
            var body = new Dictionary<string, object> { ["instances"] = all.Select(i => views.View(i, false, replicas[i.Id].ToList(), detail: false)).ToList() };
            JsonSerializer.SerializeToUtf8Bytes(body, options);
            return Task.CompletedTask;
        });
    }

    private static async Task<double> MedianMsAsync(int times, Func<Task> call)
    {
        for (var i = 0; i < Math.Min(20, times); i++) await call();
        var samples = new double[times];
        for (var i = 0; i < times; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(samples);
        return Math.Round(samples[times / 2], 3);
    }
}
