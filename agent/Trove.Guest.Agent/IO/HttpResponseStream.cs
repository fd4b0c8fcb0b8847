namespace Trove.Guest.Agent.IO;

/// <summary>A streamed HTTP response body that disposes its response with it (object-store downloads).</summary>
public sealed class HttpResponseStream(Stream body, HttpResponseMessage response) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer) => body.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => body.ReadAsync(buffer, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            body.Dispose();
            response.Dispose();
        }
        base.Dispose(disposing);
    }
}
