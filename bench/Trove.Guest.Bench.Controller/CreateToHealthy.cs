using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;
using Trove.Guest.Testing;

namespace Trove.Guest.Bench.Controller;

/// <summary>One create through the API: the wall times the client and the controller saw.</summary>
public sealed record CreateResult(string InstanceId, double PostMs, double TotalS, double TaskS, IReadOnlyDictionary<string, double> StepsMs);

/// <summary>
/// Part 2: instances created one after the other through the real controller's API, each timed from the POST to the
/// first show that answers ACTIVE/HEALTHY (polled every 100 ms); the controller's own per-step timings come from its log
/// line "create of ID done: allocate N ms, ...", the task's from the tasks table. Before each create the floor script
/// (floor.sh) runs once, so both are measured under the same load. At the end every instance is deleted through the API.
/// </summary>
public sealed partial class CreateToHealthy(ControllerUnderTest controller, Action<JsonObject> report)
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(100);
    private readonly List<string> _created = [];

    [GeneratedRegex(@"(\w+) (\d+) ms")]
    private static partial Regex StepTiming();

    public async Task<(List<CreateResult> Ours, List<Dictionary<string, double>> Floors)> RunAsync(int creates)
    {
        var ours = new List<CreateResult>();
        var floors = new List<Dictionary<string, double>>();
        for (var n = 1; n <= creates; n++)
        {
            var floor = await FloorAsync();
            floors.Add(floor);
            report(new JsonObject
            {
                ["part"] = "create", ["run"] = $"floor {n}: loop volume + mkfs + mount + install-db + mariadbd to first query",
                ["total_s"] = Math.Round(floor["total"] / 1000, 3), ["steps_ms"] = Steps(floor.Where(s => s.Key != "total")),
            });
            var result = await CreateAsync($"bench-{n}");
            ours.Add(result);
            report(new JsonObject
            {
                ["part"] = "create", ["run"] = $"ours {n}: POST to ACTIVE/HEALTHY", ["instance"] = result.InstanceId, ["total_s"] = result.TotalS,
                ["post_ms"] = result.PostMs, ["task_s"] = result.TaskS, ["steps_ms"] = Steps(result.StepsMs),
            });
        }
        return (ours, floors);
    }

    private static JsonObject Steps(IEnumerable<KeyValuePair<string, double>> steps) => new(steps.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value)));

    private async Task<CreateResult> CreateAsync(string name)
    {
        var body = new JsonObject
        {
            ["instance"] = new JsonObject
            {
                ["name"] = name, ["flavorRef"] = "1", ["volume"] = new JsonObject { ["size"] = 1 },
                ["datastore"] = new JsonObject { ["type"] = "mariadb", ["version"] = "10.11" },
            },
        };
        var clock = Stopwatch.StartNew();
        var (status, created) = await controller.ApiAsync(HttpMethod.Post, "/instances", body.ToJsonString());
        var postMs = clock.Elapsed.TotalMilliseconds;
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"create answered {(int)status}: {created?.ToJsonString()}");
        var id = created!["instance"]!["id"]!.GetValue<string>();
        _created.Add(id);
        var deadline = TimeSpan.FromSeconds(300);
        while (true)
        {
            var (_, shown) = await controller.ApiAsync(HttpMethod.Get, $"/instances/{id}");
            var instance = shown?["instance"];
            var s = instance?["status"]?.GetValue<string>();
            if (s == "ACTIVE" && instance?["operating_status"]?.GetValue<string>() == "HEALTHY") break;
            if (s == "ERROR") throw new InvalidOperationException($"{id} went to ERROR: {instance!.ToJsonString()}\n{controller.Log}");
            if (clock.Elapsed > deadline) throw new TimeoutException($"{id} was not HEALTHY in {deadline}: {instance?.ToJsonString()}\n{controller.Log}");
            await Task.Delay(PollEvery);
        }
        var total = clock.Elapsed.TotalSeconds;
        return new CreateResult(id, Math.Round(postMs, 1), Math.Round(total, 3), await TaskSecondsAsync(id), await StepsAsync(id));
    }

    /// <summary>The controller's timing of each step, from the log line the worker writes when the flow is done.</summary>
    private async Task<IReadOnlyDictionary<string, double>> StepsAsync(string id)
    {
        var marker = $"create of {id} done: ";
        for (var i = 0; i < 100; i++)
        {
            var line = controller.Log.Split('\n').FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal));
            if (line is not null)
            {
                return StepTiming().Matches(line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..])
                    .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"no '{marker}' line in the controller's log:\n{controller.Log}");
    }

    /// <summary>The create task's life in the tasks table: started (recorded by the API) to its last update (finished).</summary>
    private async Task<double> TaskSecondsAsync(string id)
    {
        for (var i = 0; i < 100; i++)
        {
            await using var connection = await controller.Database.OpenAsync(CancellationToken.None);
            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT state, started_at, updated_at FROM tasks WHERE instance_id = $id AND kind = 'create'";
            var parameter = select.CreateParameter();
            parameter.ParameterName = "$id";
            parameter.Value = id;
            select.Parameters.Add(parameter);
            await using var reader = await select.ExecuteReaderAsync();
            if (await reader.ReadAsync() && reader.GetString(0) != "running") return Math.Round((reader.GetInt64(2) - reader.GetInt64(1)) / 1000.0, 3);
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"the create task of {id} did not finish");
    }

    private static async Task<Dictionary<string, double>> FloorAsync()
    {
        var dir = Directory.CreateTempSubdirectory("tgb-floor-").FullName;
        var result = await Cli.Wrap("bash")
            .WithArguments([Path.Combine(AppContext.BaseDirectory, "floor.sh"), dir, FreePorts.Find().ToString(CultureInfo.InvariantCulture)])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"floor.sh failed ({result.ExitCode}): {result.StandardOutput}\n{result.StandardError}");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => (Name: l[..l.LastIndexOf(' ')], Ms: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(s => s.Name, s => s.Ms);
    }

    /// <summary>Deletes every created instance through the API and waits until each is gone (404); returns the wall time.</summary>
    public async Task<double> DeleteAllAsync()
    {
        var clock = Stopwatch.StartNew();
        foreach (var id in _created)
        {
            var (status, body) = await controller.ApiAsync(HttpMethod.Delete, $"/instances/{id}");
            if (status != HttpStatusCode.Accepted) throw new InvalidOperationException($"delete {id} answered {(int)status}: {body?.ToJsonString()}");
        }
        foreach (var id in _created)
        {
            while ((await controller.ApiAsync(HttpMethod.Get, $"/instances/{id}")).Status != HttpStatusCode.NotFound)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(180)) throw new TimeoutException($"{id} was not deleted in 180 s:\n{controller.Log}");
                await Task.Delay(PollEvery);
            }
        }
        return Math.Round(clock.Elapsed.TotalSeconds, 3);
    }
}
