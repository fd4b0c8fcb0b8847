using Serilog;
using Serilog.Configuration;
using Serilog.Events;

namespace Trove.Guest.Logging.Journald;

public static class JournaldLoggerConfigurationExtensions
{
    /// <summary>Writes log events to the systemd journal through journald's native protocol.</summary>
    /// <param name="sinkConfiguration">The <c>WriteTo</c> of a logger configuration.</param>
    /// <param name="syslogIdentifier">Written as SYSLOG_IDENTIFIER, what <c>journalctl -t</c> filters on.</param>
    /// <param name="socketPath">journald's native socket; tests point this elsewhere.</param>
    /// <param name="restrictedToMinimumLevel">Events below this level are not sent.</param>
    public static LoggerConfiguration Journald(
        this LoggerSinkConfiguration sinkConfiguration,
        string syslogIdentifier,
        string socketPath = JournaldEnvironment.DefaultSocketPath,
        LogEventLevel restrictedToMinimumLevel = LogEventLevel.Verbose)
    {
        ArgumentNullException.ThrowIfNull(sinkConfiguration);
        return sinkConfiguration.Sink(new JournaldSink(syslogIdentifier, socketPath), restrictedToMinimumLevel);
    }
}
