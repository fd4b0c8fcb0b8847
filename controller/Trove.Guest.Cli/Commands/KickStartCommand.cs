using System.CommandLine;
using Trove.Guest.Cli.KickStart;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// <c>kick-start DATASTORE --config CONTROLLER_YAML [--image FILE] [--flavor ID] [--size GB] [--name NAME] [--timeout S]
/// [--json]</c>: from a controller configuration to a healthy instance of DATASTORE, each step timed (see
/// <see cref="KickStartRun"/>). <c>./redstack.ps1 kick-start</c> runs it.
/// </summary>
internal static class KickStartCommand
{
    public const string DefaultConfig = "/etc/trove-guest/controller.yaml";

    public static Command Create(ApiCommandBuilder build)
    {
        var datastore = new Argument<string>("datastore") { Description = $"the datastore: {string.Join(", ", KickStartDatastores.Names)}" };
        datastore.Validators.Add(r =>
        {
            var given = r.GetValueOrDefault<string>();
            if (!KickStartDatastores.IsKnown(given))
                r.AddError($"kick-start needs a DATASTORE, one of {string.Join(", ", KickStartDatastores.Names)} (not '{given}')");
        });
        var config = new Option<string>("--config") { Description = "the controller's configuration file", DefaultValueFactory = _ => DefaultConfig };
        var image = new Option<string?>("--image") { Description = "a guest image (qcow2) to register instead of building one (qemu compute driver)" };
        var flavor = new Option<string?>("--flavor") { Description = "the instance's flavor, name or id (default: the configuration's first flavor)" };
        var size = new Option<int>("--size") { Description = "the instance's volume in GB", DefaultValueFactory = _ => 1 };
        size.Validators.Add(r => { if (r.GetValueOrDefault<int>() <= 0) r.AddError("--size must be a positive number of GB"); });
        var name = new Option<string?>("--name") { Description = "the instance's name (default: kick-start-DATASTORE)" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for the instance to be healthy (exit 5 when they pass)", DefaultValueFactory = _ => 1800 };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--timeout must be positive"); });

        return build.CreateLocal("kick-start",
            "Build and register DATASTORE's guest image (qemu driver), register its datastore version, start the controller if it is not running, "
            + "and create an instance, waiting until it is healthy; each step is timed",
            [datastore, config, image, flavor, size, name, timeout], (parse, ct) =>
            {
                var store = parse.GetValue(datastore)!;
                var options = new KickStartOptions(store, parse.GetValue(config)!, parse.GetValue(image), parse.GetValue(flavor), parse.GetValue(size),
                    parse.GetValue(name) ?? $"kick-start-{store}", TimeSpan.FromSeconds(parse.GetValue(timeout)),
                    parse.GetValue(build.Globals.UserName), parse.GetValue(build.Globals.Password), parse.GetValue(build.Globals.Project));
                return new KickStartRun(options, build.Io, build.Json(parse)).RunAsync(ct);
            });
    }
}
