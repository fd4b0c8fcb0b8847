using System.Data.Common;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Commands;
using Trove.Guest.Cli.Output;
using Trove.Guest.Cli.Waiting;
using Trove.Guest.Controller.Configuration;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Migrations;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// One kick-start, from a controller configuration to a healthy instance, each step timed: <c>build image</c> and
/// <c>register image</c> (qemu driver only; the image builder in process, the embedded image registry),
/// <c>register datastore</c> (trove-manage's datastore_version_update, straight in the state database, made the
/// default), <c>start controller</c> (unless one answers), <c>create instance</c> (through the API, as the bootstrap user
/// or the <c>OS_*</c> one) and <c>wait healthy</c> (ACTIVE and HEALTHY). Exit codes as every API verb's
/// (<see cref="ExitCodes"/>): 0, 1 refused or failed, 2 the instance ended in ERROR, 3 unreachable, 4 login refused,
/// 5 timed out, 64 usage.
/// </summary>
internal sealed class KickStartRun(KickStartOptions options, CliEnvironment io, bool json)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var config = LoadConfig();
        var datastore = options.Datastore;
        var version = KickStartDatastores.VersionOf(datastore);
        var driver = config.Compute.Driver;
        var qemu = driver == "qemu";
        if (options.Image is { } given)
        {
            if (!qemu) throw new CliFailure(ExitCodes.Usage, $"--image is for the qemu compute driver; {options.ConfigPath} names the {driver} driver");
            if (!File.Exists(given)) throw new CliFailure(ExitCodes.Usage, $"--image {given} does not exist");
        }
        var tree = SourceTree.Find();
        var report = new KickStartReport(io.Out, io.Err, json);
        report.Facts["datastore"] = datastore;
        report.Facts["datastore_version"] = version;
        report.Facts["compute_driver"] = driver;
        await report.WriteLineAsync($"kick-start {datastore} {version} on the {driver} compute driver ({options.ConfigPath})").ConfigureAwait(false);

        string? imageId = null;
        if (qemu)
        {
            var file = options.Image;
            if (file is null)
            {
                var output = Path.Combine(config.Compute.ImagesDir, "build", datastore);
                file = await report.StepAsync("build image", () => GuestImageBuild.RunAsync(datastore, output, io.Variable, tree, report.Lines, io.Err), f => f)
                    .ConfigureAwait(false);
            }
            else
            {
                await report.SkipAsync("build image", $"--image {file}").ConfigureAwait(false);
            }
            var image = await report.StepAsync("register image", () => RegisterImageAsync(config, file, version, ct), i => $"image {i.Id}").ConfigureAwait(false);
            imageId = image.Id;
            report.Facts["image_id"] = imageId;
        }
        else
        {
            await report.SkipAsync("build image", $"the {driver} compute driver runs no image").ConfigureAwait(false);
            await report.SkipAsync("register image", $"the {driver} compute driver runs no image").ConfigureAwait(false);
        }

        var versionId = await report.StepAsync("register datastore", () => RegisterDatastoreAsync(config, version, imageId, ct),
            _ => $"{datastore} {version}, manager {datastore}, the default").ConfigureAwait(false);
        report.Facts["datastore_version_id"] = versionId;

        var controller = await report.StepAsync("start controller",
            () => new ControllerLauncher(config, options.ConfigPath, io.Variable).EnsureRunningAsync(tree, ct),
            c => c.AlreadyRunning ? $"already running at {c.Url}" : $"started (pid {c.Pid}), log {c.Log}").ConfigureAwait(false);
        report.Facts["controller"] = new JsonObject
        {
            ["url"] = controller.Url.ToString(), ["already_running"] = controller.AlreadyRunning, ["pid"] = controller.Pid, ["log"] = controller.Log,
        };

        var (api, instance) = await report.StepAsync("create instance", () => LoginAndCreateAsync(config, controller.Url, version, ct),
            c => ApiSession.Subject("instance", c.Instance)).ConfigureAwait(false);
        using var client = api;
        var session = new ApiSession(client, new ResourcePrinter(io.Out, json), io);
        var id = ResourceFinder.Id(instance);
        report.Facts["instance_id"] = id;
        report.Facts["instance_name"] = options.InstanceName;

        await report.StepAsync("wait healthy", () => WaitHealthyAsync(session, instance, ct), _ => null).ConfigureAwait(false);
        var reach = qemu ? SshHint(config, id) : null;
        if (reach is not null) report.Facts["ssh"] = reach;
        await report.FinishAsync().ConfigureAwait(false);
        if (!json)
        {
            await io.Out.WriteLineAsync($"instance {id} ({options.InstanceName}) is ACTIVE and HEALTHY").ConfigureAwait(false);
            if (reach is not null) await io.Out.WriteLineAsync($"reach its guest: {reach}").ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }

    private ControllerConfig LoadConfig()
    {
        try
        {
            return ConfigLoader.Load(options.ConfigPath);
        }
        catch (ConfigException e)
        {
            throw new CliFailure(ExitCodes.Usage, $"{e.Message} (--config)");
        }
    }

    private async Task<LocalImage> RegisterImageAsync(ControllerConfig config, string file, string version, CancellationToken ct)
    {
        try
        {
            return await new LocalImageRegistry(config.Compute.ImagesDir)
                .RegisterAsync(file, Path.GetFileNameWithoutExtension(file), options.Datastore, version, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: cannot register {file} in {config.Compute.ImagesDir}: {e.Message}");
        }
    }

    /// <summary>Opens the state database as the controller does, migrates it as its start-up does, then upserts the version.</summary>
    private async Task<string> RegisterDatastoreAsync(ControllerConfig config, string version, string? imageId, CancellationToken ct)
    {
        try
        {
            // The controller creates the SQLite file on its first start; kick-start may come first.
            if (config.State.Provider == "sqlite") Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(config.State.Path))!);
            var database = ConfigLoader.Database(config);
            await new Migrator(database, StateSchema.Migrations).MigrateAsync(ct).ConfigureAwait(false);
            return await new DatastoreStore(database)
                .UpsertVersionAsync(options.Datastore, version, version, options.Datastore, imageId, makeDefault: true, ct).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            throw new CliFailure(ExitCodes.Usage, e.Message);
        }
        catch (Exception e) when (e is SchemaException or DbException or IOException or UnauthorizedAccessException)
        {
            throw new CliFailure(ExitCodes.ApiRefused, $"ERROR: the state database ({config.State.Provider}): {e.Message}");
        }
    }

    /// <summary>Logs in (the client is the caller's to dispose once the instance is healthy) and creates the instance.</summary>
    private async Task<(TroveApiClient Api, JsonObject Instance)> LoginAndCreateAsync(ControllerConfig config, Uri authUrl, string version, CancellationToken ct)
    {
        var api = await KickStartLogin.LoginAsync(config, authUrl, options, io.Variable, ct).ConfigureAwait(false);
        try
        {
            return (api, await CreateInstanceAsync(config, new ApiSession(api, new ResourcePrinter(io.Out, json), io), version, ct).ConfigureAwait(false));
        }
        catch
        {
            api.Dispose();
            throw;
        }
    }

    private async Task<JsonObject> CreateInstanceAsync(ControllerConfig config, ApiSession session, string version, CancellationToken ct)
    {
        var flavor = options.Flavor ?? config.Flavors.FirstOrDefault()?.Id
            ?? throw new CliFailure(ExitCodes.Usage, $"--flavor is needed: {options.ConfigPath} lists no flavors");
        var body = new JsonObject
        {
            ["name"] = options.InstanceName,
            ["flavorRef"] = await session.Find.FlavorRefAsync(flavor, ct).ConfigureAwait(false),
            ["volume"] = new JsonObject { ["size"] = options.SizeGb },
            ["datastore"] = new JsonObject { ["type"] = options.Datastore, ["version"] = version },
        };
        var created = await session.Api.SendAsync(HttpMethod.Post, "/instances", new JsonObject { ["instance"] = body }, ct).ConfigureAwait(false);
        return created?["instance"] as JsonObject ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API accepted the instance but did not return it");
    }

    private async Task<JsonObject> WaitHealthyAsync(ApiSession session, JsonObject instance, CancellationToken ct)
    {
        var id = ResourceFinder.Id(instance);
        var waiter = new StatusWaiter(io.Err, io.Interactive, PollInterval, options.Timeout);
        var result = await waiter.WaitAsync(WaitGoal.InstanceHealthy(), ApiSession.Subject("instance", instance),
            async c => WaitGoal.WithOperatingStatus(await session.InstanceOrNullAsync(id, c).ConfigureAwait(false)), ct).ConfigureAwait(false);
        if (result.ExitCode == ExitCodes.Ok) return result.Last!;
        var seen = result.Last is { } last ? $"; last seen {ResourcePrinter.Cell(last["status"])}" : "";
        var fault = result.Last?["fault"]?["message"] is { } message ? $": {ResourcePrinter.Cell(message)}" : "";
        throw new CliFailure(result.ExitCode, $"ERROR: instance {id} did not become ACTIVE and HEALTHY{seen}{fault}");
    }

    /// <summary>How to reach a qemu guest from this host; the driver's root is named when it is not the one <c>ssh</c> assumes.</summary>
    private static string SshHint(ControllerConfig config, string id)
    {
        var root = Path.GetFullPath(config.Compute.Root);
        return root == GuestOptions.DefaultQemuRoot ? $"trove-guest ssh {id}" : $"trove-guest ssh {id} --qemu-root {root}";
    }
}
