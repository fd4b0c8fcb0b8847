using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;
using Trove.Guest.Bench.Controller;
using Trove.Guest.State;
using Trove.Guest.Testing;

// trove-guest-controller-bench CONTROLLER_DLL AGENT TEMPLATES_DIR RABBIT_URL [INSTANCES] [CREATES] [SECONDS]
//
// Part 1, the API's throughput (in this process): INSTANCES (1000) instances seeded in the state store, then GET list
// and GET show at 1 and 8 concurrent keep-alive clients for SECONDS (3) each after a 1 s warm-up, on SQLite and on a
// private PostgreSQL. The reference in the same run: python3-trove's API cannot run here (it needs Keystone and Nova),
// so the floor is the same ASP.NET Core answering the same response bytes from memory (transport only), and the same
// behind our token check (transport + authentication); plus the state queries alone.
// Part 2, create-to-healthy: the real controller (a process, process compute driver) creates CREATES (3) instances one
// after the other through its API; the reference, run before each create, is floor.sh (loop volume, mkfs, mount,
// mariadb-install-db, mariadbd to its first query). Everything is deleted through the API at the end.
// Prints one JSON line per measurement, then a summary table.

// trove-guest-controller-bench boot CONTROLLER_DLL IMAGE TEMPLATES_DIR RABBIT_URL [RUNS]: the boot benchmark (BootToHealthy).
if (args.Length > 0 && args[0] == "boot" && OperatingSystem.IsLinux())
{
    await BootBench.RunAsync(args[1], args[2], args[3], args[4], args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 2);
    return 0;
}

var (controllerDll, agent, templates, rabbitUrl) = (args[0], args[1], args[2], args[3]);
var count = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1000;
var creates = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 3;
var seconds = args.Length > 6 ? double.Parse(args[6], CultureInfo.InvariantCulture) : 3;
var results = new List<JsonObject>();
void Report(JsonObject r)
{
    results.Add(r);
    Console.WriteLine(r.ToJsonString());
}
string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);
var loads = new List<string> { LoadAverage() };
Report(new JsonObject { ["run"] = "start", ["loadavg"] = loads[0], ["nproc"] = Environment.ProcessorCount });

// ---- part 1: list/show throughput -------------------------------------------------------------------------------
var throughput = new ApiThroughput(Report, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(seconds));
var sqliteDir = Directory.CreateTempSubdirectory("tgcb-api-").FullName;
try
{
    await throughput.RunAsync("sqlite", StateDatabase.Sqlite(Path.Combine(sqliteDir, "state.sqlite")), count, withBareFloor: true, CancellationToken.None);
}
finally
{
    Directory.Delete(sqliteDir, recursive: true);
}
PostgresService? postgres = null;
try
{
    postgres = await PostgresService.StartAsync();
}
catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or CliWrap.Exceptions.CommandExecutionException)
{
    Report(new JsonObject { ["part"] = "api", ["provider"] = "postgres", ["skipped"] = e.Message.Split('\n')[0] });
}
if (postgres is not null)
{
    await using (postgres)
    {
        // Npgsql's default pooling, as an operator's connection string gets it (the tests turn it off).
        var connection = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync("bench")) { Pooling = true }.ConnectionString;
        await throughput.RunAsync("postgres", StateDatabase.Postgres(connection), count, withBareFloor: false, CancellationToken.None);
    }
}
loads.Add(LoadAverage());

// ---- part 2: create-to-healthy --------------------------------------------------------------------------------------
var ours = new List<CreateResult>();
var floors = new List<Dictionary<string, double>>();
if (creates > 0)
{
    await using var controller = await ControllerUnderTest.StartAsync(controllerDll, agent, templates, rabbitUrl);
    var create = new CreateToHealthy(controller, Report);
    try
    {
        (ours, floors) = await create.RunAsync(creates);
    }
    finally
    {
        try
        {
            Report(new JsonObject { ["part"] = "create", ["run"] = "delete all through the API until 404", ["wall_s"] = await create.DeleteAllAsync() });
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException)
        {
            Console.Error.WriteLine($"deleting through the API failed: {e.Message}");
        }
        var afterApi = await ControllerUnderTest.LeftoversAsync(controller.ComputeRoot);
        await controller.StopAsync();
        var afterFallback = await controller.DeleteServersAsync();
        Report(new JsonObject
        {
            ["part"] = "create", ["run"] = "cleanup", ["left_after_api_delete"] = new JsonArray(afterApi.Select(l => (JsonNode)l).ToArray()),
            ["left_after_driver_fallback"] = new JsonArray(afterFallback.Select(l => (JsonNode)l).ToArray()),
        });
    }
}
loads.Add(LoadAverage());

Summary.Print(results, ours, floors, loads, count, seconds);
return 0;
