using FluentAssertions;
using Serilog;
using Serilog.Debugging;

namespace Trove.Guest.Logging.Journald.Tests;

// SelfLog is process-wide, so these tests run alone to read only their own sink's reports.
[CollectionDefinition(nameof(SelfLogCollection), DisableParallelization = true)]
public sealed class SelfLogCollection;

[Collection(nameof(SelfLogCollection))]
public sealed class SocketOutageTests : IDisposable
{
    private readonly StringWriter _selfLog = new();

    public SocketOutageTests() => SelfLog.Enable(TextWriter.Synchronized(_selfLog));

    public void Dispose() => SelfLog.Disable();

    private string[] SelfLogLines() => _selfLog.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Drops_events_while_the_socket_is_absent_and_delivers_once_it_exists()
    {
        string path = JournalReceiver.NewSocketPath();
        using var log = new LoggerConfiguration().WriteTo.Journald("agent", path).CreateLogger();

        var logWithoutJournal = () =>
        {
            log.Information("lost 1");
            log.Error(new InvalidOperationException("x"), "lost 2");
        };
        logWithoutJournal.Should().NotThrow();
        SelfLogLines().Should().ContainSingle("one line per outage, not per event")
            .Which.Should().Contain("dropping events").And.Contain(path);

        using var journal = new JournalReceiver(path);
        log.Information("delivered {Attempt}", 3);

        var entry = journal.Receive();
        entry["MESSAGE"].Should().Be("delivered 3", "the events logged while the socket was absent are dropped");
        SelfLogLines().Should().HaveCount(2).And.Subject.Last().Should().Contain("after dropping 2 event(s)");
    }

    [Fact]
    public void Reconnects_when_the_journal_socket_is_recreated()
    {
        var journal = new JournalReceiver();
        string path = journal.SocketPath;
        using var log = new LoggerConfiguration().WriteTo.Journald("agent", path).CreateLogger();
        log.Information("before restart");
        journal.Receive()["MESSAGE"].Should().Be("before restart");

        journal.Dispose();
        var logWhileDown = () => log.Information("while down");
        logWhileDown.Should().NotThrow();

        // A new socket at the same path, as after journald restarts: the old connection is dead.
        using var restarted = new JournalReceiver(path);
        log.Information("after restart");
        restarted.Receive()["MESSAGE"].Should().Be("after restart");
    }

    [Fact]
    public void Reconnects_without_losing_the_event_when_the_socket_is_replaced_between_events()
    {
        var journal = new JournalReceiver();
        string path = journal.SocketPath;
        using var log = new LoggerConfiguration().WriteTo.Journald("agent", path).CreateLogger();
        log.Information("first");
        journal.Receive();
        journal.Dispose();

        using var replaced = new JournalReceiver(path);
        log.Information("second");

        replaced.Receive()["MESSAGE"].Should().Be("second", "the stale connection is retried once on a fresh one");
        SelfLogLines().Should().BeEmpty();
    }
}
