using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Debugging;
using Serilog.Events;
using Trove.Guest.Logging.Journald;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Hosting;

// trove-guest-agent --config-dir /etc/trove/conf.d [--config-file FILE]...   (trove-guestagent's command line)
const int ExConfig = 78; // sysexits.h: configuration error; systemd shows it, and Restart= does not loop on it forever

var debug = args.Contains("--debug");
SelfLog.Enable(Console.Error); // a sink that cannot deliver says so on stderr (systemd keeps that too)
var configuration = new LoggerConfiguration()
    .MinimumLevel.Is(debug ? LogEventLevel.Debug : LogEventLevel.Information)
    .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
    .Enrich.FromLogContext();
// Under systemd, structured events go to the journal over its native protocol (every property a field);
// anywhere else, readable lines on stderr.
configuration = JournaldEnvironment.IsJournalAvailable()
    ? configuration.WriteTo.Journald("trove-guest-agent")
    : configuration.WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose,
        outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}");
var logger = configuration.CreateLogger();

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
// The agent speaks sd_notify itself (READY once it consumes from its topic, WATCHDOG, STOPPING): the notifier is a
// no-op unless systemd set NOTIFY_SOCKET, so the same binary runs under systemd, in a test or in a shell.
builder.Services.AddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
builder.Services.AddSerilog(logger, dispose: true);
builder.Services.AddSingleton(options);
builder.Services.AddHostedService<AgentService>();
using var host = builder.Build();
// The notifier has read NOTIFY_SOCKET; the engine's tools that the agent starts (mariadb-install-db's mariadbd, which
// speaks sd_notify too) must not inherit it, or systemd logs every one of their messages as refused (NotifyAccess=main).
_ = host.Services.GetRequiredService<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier>();
Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
await host.RunAsync();
return 0;
