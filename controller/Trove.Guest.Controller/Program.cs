using Serilog;
using Serilog.Events;
using Trove.Guest.Controller.Configuration;
using Trove.Guest.Controller.Hosting;
using Trove.Guest.Logging.Journald;

// trove-guest-controller [--config FILE]: Trove's API, the conductor and the task worker (the roles the configuration
// names) on the configured state database (SQLite by default). SIGTERM or Ctrl-C stops it; running tasks are given
// back and a controller that starts again resumes them.
if (args.Length is not (0 or 2) || (args.Length == 2 && args[0] != "--config"))
{
    Console.Error.WriteLine("usage: trove-guest-controller [--config FILE]");
    return 64;
}
var configuration = new LoggerConfiguration()
    .MinimumLevel.Information()
    .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
    .Enrich.FromLogContext();
configuration = JournaldEnvironment.IsJournalAvailable()
    ? configuration.WriteTo.Journald("trove-guest-controller")
    : configuration.WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose,
        outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}");
await using var logger = configuration.CreateLogger();
using var loggers = new Serilog.Extensions.Logging.SerilogLoggerFactory(logger);

using var stopping = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stopping.Cancel();
});
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stopping.Cancel();
};
try
{
    var config = ConfigLoader.Load(args.Length == 2 ? args[1] : null);
    var database = ConfigLoader.Database(config);
    await using var host = await ControllerHost.StartAsync(config, database, loggers, stopping.Token,
        apiLogging: b => b.ClearProviders().AddSerilog(logger));
    logger.Information("trove-guest-controller running: {Roles}", string.Join(", ", config.Roles));
    try
    {
        await Task.Delay(Timeout.Infinite, stopping.Token);
    }
    catch (OperationCanceledException)
    {
    }
    logger.Information("Stopping");
    return 0;
}
catch (Exception e) when (e is ConfigException or Trove.Guest.State.Migrations.SchemaException)
{
    Console.Error.WriteLine($"trove-guest-controller: {e.Message}");
    return 1;
}
