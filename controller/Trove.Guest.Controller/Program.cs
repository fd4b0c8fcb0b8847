using Trove.Guest.Controller.Api;
using Trove.Guest.State;
using Trove.Guest.State.Migrations;

// trove-guest-controller [--state PATH] [--listen URL]: the API on the embedded state database. Configuration file,
// conductor and task worker come with the rest of the controller issue.
var state = "trove-guest.sqlite";
var listen = new ApiOptions().ListenUrl;
for (var i = 0; i < args.Length; i += 2)
{
    if (args[i] is not ("--state" or "--listen") || i + 1 == args.Length)
    {
        Console.Error.WriteLine($"usage: trove-guest-controller [--state PATH] [--listen URL] (at '{args[i]}')");
        return 64;
    }
    if (args[i] == "--state") state = args[i + 1];
    else listen = args[i + 1];
}
var database = StateDatabase.Sqlite(state);
await new Migrator(database, StateSchema.Migrations).MigrateAsync(CancellationToken.None);
await TroveApi.Build(new ApiOptions { ListenUrl = listen }, database).RunAsync();
return 0;
