using FluentAssertions;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Hosting;
using Trove.Guest.Testing;

namespace Trove.Guest.Agent.Tests.Integration;

/// <summary>The hosted service as systemd runs it (without NOTIFY_SOCKET its notifier is silent), on the real broker.</summary>
public sealed class AgentServiceTests(BrokerFixture broker)
{
    /// <summary>Every line at every level, debug included.</summary>
    private sealed class AllLevels : ILoggerProvider, ILogger
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get { lock (_lines) return _lines.ToList(); }
        }

        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines) _lines.Add(formatter(state, exception));
        }

        public void Dispose()
        {
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Start_up_code_is_paged_out_at_ready_only_once_the_instance_is_prepared(bool prepared)
    {
        var root = Directory.CreateTempSubdirectory("tgas-").FullName;
        try
        {
            var options = new AgentOptions
            {
                GuestId = Guid.NewGuid().ToString(), DatastoreManager = "mariadb", TransportUrl = broker.Url,
                ConductorQueue = "trove-conductor-" + Guid.NewGuid().ToString("N")[..8],
                Datastore = new DatastoreOptions { MountPoint = Path.Combine(root, "mnt"), DevicePath = "" },
                Guest = new TroveGuestOptions
                {
                    EngineSupervisor = EngineSupervisor.Process, StateDir = Path.Combine(root, "state"), EngineConfigDir = Path.Combine(root, "etc"),
                    EngineSocket = Path.Combine(root, "m.sock"), TrimStartupMemory = true,
                },
            };
            if (prepared)
            {
                Directory.CreateDirectory(options.Guest.StateDir);
                File.WriteAllText(Path.Combine(options.Guest.StateDir, ".guestagent.prepare.end"), "");
                // Stopped on request: the agent does not start a server for this test.
                File.WriteAllText(Path.Combine(options.Guest.StateDir, "engine.stopped-on-request"), "");
            }
            using var log = new AllLevels();
            using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(log));
            await using var service = new AgentService(options, loggers, new SystemdNotifier(), loggers.CreateLogger<AgentService>());

            await service.StartAsync(CancellationToken.None);
            await service.StopAsync(CancellationToken.None);

            log.Lines.Should().Contain(l => l.Contains("serving"));
            if (prepared) log.Lines.Should().Contain(l => l.StartsWith("Paged out", StringComparison.Ordinal));
            else log.Lines.Should().NotContain(l => l.StartsWith("Paged out", StringComparison.Ordinal), "prepare is on its way and needs that code");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
