using Trove.Guest.Controller.Api;
using Trove.Guest.Controller.Configuration;

// trove-guest-controller [--config FILE]: Trove's API on the configured state database (SQLite by default). The
// conductor and the task worker come with the rest of the controller issue.
if (args.Length is not (0 or 2) || (args.Length == 2 && args[0] != "--config"))
{
    Console.Error.WriteLine("usage: trove-guest-controller [--config FILE]");
    return 64;
}
try
{
    var config = ConfigLoader.Load(args.Length == 2 ? args[1] : null);
    var database = ConfigLoader.Database(config);
    await ControllerStartup.PrepareAsync(config, database, CancellationToken.None);
    await TroveApi.Build(new ApiOptions { ListenUrl = config.Api.Listen, TokenLifetime = TimeSpan.FromSeconds(config.Api.TokenLifetimeSeconds) }, database).RunAsync();
    return 0;
}
catch (Exception e) when (e is ConfigException or Trove.Guest.State.Migrations.SchemaException)
{
    Console.Error.WriteLine($"trove-guest-controller: {e.Message}");
    return 1;
}
