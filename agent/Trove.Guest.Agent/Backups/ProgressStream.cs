using System.Diagnostics;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Backups;

/// <summary>Counts the bytes going through and reports them, with the rate, at most every <c>interval</c> (long work shows progress).</summary>
public sealed class ProgressStream(Stream inner, TimeSpan interval, Action<long, TimeSpan> report) : ReadOnlyStream
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport;

    public long Count { get; private set; }
    public TimeSpan Elapsed => _clock.Elapsed;

    public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    private int Counted(int n)
    {
        Count += n;
        if (_clock.Elapsed - _lastReport >= interval)
        {
            _lastReport = _clock.Elapsed;
            report(Count, _clock.Elapsed);
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
