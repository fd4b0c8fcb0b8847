using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Hosting;

// trove-guest-agent --config-dir /etc/trove/conf.d [--config-file FILE]...   (trove-guestagent's command line)
const int ExConfig = 78; // sysexits.h: configuration error; systemd shows it, and Restart= does not loop on it forever

var debug = args.Contains("--debug");
var logger = new LoggerConfiguration()
    .MinimumLevel.Is(debug ? LogEventLevel.Debug : LogEventLevel.Information)
    .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
    .Enrich.FromLogContext()
    .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose,
        outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}")
    .CreateLogger();

AgentOptions options;
try
{
    using var factory = new Serilog.Extensions.Logging.SerilogLoggerFactory(logger);
    options = AgentConfigLoader.Load(args, factory.CreateLogger("Trove.Guest.Agent.Configuration"));
}
catch (ConfigException e)
{
    logger.Fatal("Configuration error: {Error}", e.Message);
    await logger.DisposeAsync();
    return ExConfig;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
builder.Services.AddSystemd();
builder.Services.AddSerilog(logger, dispose: true);
builder.Services.AddSingleton(options);
builder.Services.AddHostedService<AgentService>();
using var host = builder.Build();
await host.RunAsync();
return 0;
