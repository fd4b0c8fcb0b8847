using Microsoft.Extensions.Logging;

namespace Trove.Guest.Testing;

/// <summary>Collects log lines so tests can assert on what the server said.</summary>
public sealed class TestLogger : ILogger
{
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<string> Lines
    {
        get { lock (_lock) return _lines.ToList(); }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        lock (_lock) _lines.Add($"{logLevel}: {formatter(state, exception)}");
    }
}
