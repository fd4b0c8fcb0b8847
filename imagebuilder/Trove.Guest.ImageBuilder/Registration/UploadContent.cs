using System.Buffers;
using System.Net;
using System.Security.Cryptography;

namespace Trove.Guest.ImageBuilder.Registration;

/// <summary>
/// An image file as a request body, read from disk a buffer at a time (images are gigabytes), reporting the bytes sent
/// and hashing them with SHA-512 on the way, so the upload can be checked against Glance's <c>os_hash_value</c>.
/// </summary>
internal sealed class UploadContent : HttpContent
{
    private const int BufferSize = 1 << 20;
    private readonly string _path;
    private readonly long _length;
    private readonly Action<long> _progress;

    public UploadContent(string path, long length, Action<long> progress)
    {
        _path = path;
        _length = length;
        _progress = progress;
        Headers.ContentType = new("application/octet-stream");
    }

    /// <summary>The hex SHA-512 of the bytes last sent.</summary>
    public string? Sha512 { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long sent = 0;
            while (sent < _length)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferSize, _length - sent)), cancellationToken).ConfigureAwait(false);
                // The Content-Length is already on the wire: a file that shrank would leave Glance waiting for bytes.
                if (read == 0) throw new IOException($"{_path} shrank during the upload ({sent} of {_length} bytes read)");
                hash.AppendData(buffer, 0, read);
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent += read;
                _progress(sent);
            }
            Sha512 = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}

/// <summary>Upload progress as plain lines (bytes and percent), one per <see cref="StepPercent"/>, so a log stays short.</summary>
internal sealed class UploadProgress(TextWriter log, long total)
{
    public const int StepPercent = 5;
    private int _lastStep = -1;

    public void Report(long sent)
    {
        var percent = total == 0 ? 100 : (int)(sent * 100 / total);
        var step = percent / StepPercent;
        if (step == _lastStep) return;
        _lastStep = step;
        log.WriteLine($"uploaded {Size(sent)} of {Size(total)} ({percent}%)");
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        _ => $"{bytes} bytes",
    };
}
