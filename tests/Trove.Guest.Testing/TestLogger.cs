using Microsoft.Extensions.Logging;

namespace Trove.Guest.Testing;

/// <summary>Collects log lines so tests can assert on what the server said.</summary>
public sealed class TestLogger : ILogger
{
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    public IReadOnlyList<string> Lines
    {
        get { lock (_lock) return _lines.ToList(); }
    }

    /// <summary>Warnings and errors first, then the last lines: what a failure message quotes (long ones are cut in the middle).</summary>
    public string Digest(int lastLines = 15)
    {
        var lines = Lines;
        var bad = lines.Where(l => l.Contains("] Warning: ") || l.Contains("] Error: ") || l.Contains("] Critical: ")).Take(20);
        return "warnings and errors:\n" + string.Join("\n", bad) + "\nlast lines:\n" + string.Join("\n", lines.TakeLast(lastLines));
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        // The time since the logger was made: a failure on a slow CI machine shows where the time went.
        lock (_lock) _lines.Add($"[{_clock.Elapsed.TotalSeconds:F1}s] {logLevel}: {formatter(state, exception)}");
    }
}

/// <summary>Routes every logger of a factory into one <see cref="TestLogger"/>, with the category in front.</summary>
public sealed class TestLoggerProvider(TestLogger sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Categorized(sink, categoryName);

    public void Dispose()
    {
    }

    private sealed class Categorized(TestLogger sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => sink.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Log(logLevel, eventId, state, exception, (s, e) => $"{category[(category.LastIndexOf('.') + 1)..]}: {formatter(s, e)}{(e is null ? "" : " " + e.Message)}");
    }
}
