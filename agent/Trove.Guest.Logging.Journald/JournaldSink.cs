using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace Trove.Guest.Logging.Journald;

/// <summary>
/// Sends each log event as one datagram in journald's native protocol
/// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/). Events too large for a datagram are passed as a sealed memfd.
/// Never throws from <see cref="Emit"/>: an event that cannot be delivered is dropped and reported through
/// Serilog's <see cref="SelfLog"/> (enable it with <c>SelfLog.Enable(Console.Error)</c> to see it on stderr).
/// </summary>
public sealed class JournaldSink : ILogEventSink, IDisposable
{
    private readonly string _syslogIdentifier;
    private readonly string _socketPath;

    // Serilog may call Emit from many threads; the lock guards the socket, the buffer and the failure state.
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _payload = new(4096);
    private Socket? _socket;
    private bool _disposed;

    // Dropped events since the last one delivered: only the first failure of an outage is reported, so a
    // missing journal does not turn every log line into a stderr line.
    private long _dropped;

    public JournaldSink(string syslogIdentifier, string socketPath = JournaldEnvironment.DefaultSocketPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(syslogIdentifier);
        ArgumentException.ThrowIfNullOrWhiteSpace(socketPath);
        _syslogIdentifier = syslogIdentifier;
        _socketPath = socketPath;
    }

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        lock (_lock)
        {
            if (_disposed)
                return;
            try
            {
                Format(logEvent);
                Send(_payload.WrittenSpan);
                if (_dropped > 0)
                {
                    SelfLog.WriteLine("Journald sink: delivering to {0} again after dropping {1} event(s)", _socketPath, _dropped);
                    _dropped = 0;
                }
            }
            catch (Exception ex)
            {
                // A broken socket is rebuilt on the next event, so the sink recovers once journald is back.
                CloseSocket();
                if (_dropped++ == 0)
                    SelfLog.WriteLine("Journald sink: dropping events, cannot send to {0}: {1}", _socketPath, ex.Message);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            CloseSocket();
        }
    }

    internal static int Priority(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => 2,       // LOG_CRIT
        LogEventLevel.Error => 3,       // LOG_ERR
        LogEventLevel.Warning => 4,     // LOG_WARNING
        LogEventLevel.Information => 6, // LOG_INFO
        _ => 7,                         // LOG_DEBUG for Debug and Verbose
    };

    private void Format(LogEvent logEvent)
    {
        _payload.ResetWrittenCount();
        string? exception = logEvent.Exception?.ToString();
        string message = logEvent.RenderMessage(CultureInfo.InvariantCulture);
        if (exception is not null)
            message = message + "\n" + exception;

        WriteField("MESSAGE", message);
        WriteField("PRIORITY", Priority(logEvent.Level).ToString(CultureInfo.InvariantCulture));
        WriteField("SYSLOG_IDENTIFIER", _syslogIdentifier);
        WriteField("MESSAGE_TEMPLATE", logEvent.MessageTemplate.Text);
        if (exception is not null)
            WriteField("EXCEPTION", exception);

        foreach (var (name, value) in logEvent.Properties)
        {
            if (JournaldFieldName.FromPropertyName(name) is { } field)
                WriteField(field, RenderValue(value));
        }
    }

    // Strings go in bare so journalctl -F and field matches see the value, not a quoted literal; everything
    // else (numbers, null, structures, sequences, dictionaries) uses Serilog's usual rendering.
    private static string RenderValue(LogEventPropertyValue value) => value is ScalarValue { Value: string text }
        ? text
        : value.ToString(null, CultureInfo.InvariantCulture);

    // KEY=value\n, or, when the value holds a newline (which would end the field early),
    // KEY\n + 64-bit little-endian byte count + raw bytes + \n.
    private void WriteField(string key, string value)
    {
        Encoding.ASCII.GetBytes(key, _payload);
        if (value.Contains('\n'))
        {
            _payload.Write("\n"u8);
            BinaryPrimitives.WriteUInt64LittleEndian(_payload.GetSpan(sizeof(ulong)), (ulong)Encoding.UTF8.GetByteCount(value));
            _payload.Advance(sizeof(ulong));
        }
        else
        {
            _payload.Write("="u8);
        }
        Encoding.UTF8.GetBytes(value, _payload);
        _payload.Write("\n"u8);
    }

    private void Send(ReadOnlySpan<byte> payload)
    {
        // A connected datagram socket keeps pointing at the socket it connected to; if that one went away
        // (journald's socket recreated) sends fail with ECONNREFUSED, so retry once on a fresh connection.
        for (int attempt = 0; ; attempt++)
        {
            _socket ??= Connect(_socketPath);
            try
            {
                _socket.Send(payload);
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.MessageSize or SocketError.NoBufferSpaceAvailable)
            {
                // Too big for one datagram (the limit is the socket send buffer, ~200 KiB by default): hand
                // journald the payload in a sealed memfd instead, as sd_journal_sendv does.
                using var memfd = Interop.CreateSealedMemfd(payload);
                Interop.SendFileDescriptor(_socket, memfd);
                return;
            }
            catch (SocketException) when (attempt == 0)
            {
                CloseSocket();
            }
        }
    }

    private static Socket Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void CloseSocket()
    {
        _socket?.Dispose();
        _socket = null;
    }
}
