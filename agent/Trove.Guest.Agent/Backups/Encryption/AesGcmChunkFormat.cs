using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Trove.Guest.Agent.IO;

namespace Trove.Guest.Agent.Backups.Encryption;

/// <summary>
/// Our authenticated backup encryption: AES-256-GCM over 1 MiB chunks, so a stream of any size is encrypted and
/// verified with bounded memory. Layout: <c>TGBGCM01</c>, an 8-byte random nonce prefix, then frames of
/// [4-byte big-endian plaintext length | ciphertext | 16-byte tag]. The nonce of frame i is prefix || i (4 bytes,
/// big-endian); the associated data is the header, i and a last-frame flag, so reordering, truncation (the last frame
/// must say so) and appending are all detected. The key is HKDF-SHA256 of the configured secret.
/// </summary>
public static class AesGcmChunkFormat
{
    public const int ChunkSize = 1 << 20;
    private const int TagSize = 16;
    private static readonly byte[] Magic = "TGBGCM01"u8.ToArray();

    public static Stream Encrypt(Stream plain, string secret) => new Encryptor(plain, DeriveKey(secret));

    public static async Task<Stream> DecryptAsync(Stream cipher, string secret, CancellationToken ct)
    {
        var header = new byte[16];
        if (await cipher.ReadFullyAsync(header, ct).ConfigureAwait(false) != 16 || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw new InvalidDataException("not an AES-GCM backup (no 'TGBGCM01' header)");
        return new Decryptor(cipher, DeriveKey(secret), header);
    }

    private static byte[] DeriveKey(string secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, salt: [], info: "trove-guest backup aes-256-gcm v1"u8.ToArray());

    private static void FrameParameters(ReadOnlySpan<byte> header, uint index, bool last, Span<byte> nonce, Span<byte> aad)
    {
        header[8..16].CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[8..], index);
        header.CopyTo(aad);
        BinaryPrimitives.WriteUInt32BigEndian(aad[16..], index);
        aad[20] = last ? (byte)1 : (byte)0;
    }

    /// <summary>Frames are produced one ahead: a frame is only known to be the last once the next read finds the end.</summary>
    private sealed class Encryptor(Stream plain, byte[] key) : ReadOnlyStream
    {
        private readonly AesGcm _gcm = new(key, TagSize);
        private readonly byte[] _header = [.. Magic, .. RandomNumberGenerator.GetBytes(8)];
        private byte[] _pending = [];
        private int _pendingOffset;
        private byte[]? _next;
        private int _nextLength;
        private uint _index;
        private bool _started, _done;

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_pendingOffset == _pending.Length)
            {
                if (_done) return 0;
                await ProduceAsync(cancellationToken).ConfigureAwait(false);
            }
            var n = Math.Min(buffer.Length, _pending.Length - _pendingOffset);
            _pending.AsMemory(_pendingOffset, n).CopyTo(buffer);
            _pendingOffset += n;
            return n;
        }

        private async Task ProduceAsync(CancellationToken ct)
        {
            if (!_started)
            {
                _started = true;
                _next = new byte[ChunkSize];
                _nextLength = await plain.ReadFullyAsync(_next, ct).ConfigureAwait(false);
                _pending = _header;
                _pendingOffset = 0;
                return;
            }
            var current = _next!;
            var currentLength = _nextLength;
            _next = new byte[ChunkSize];
            _nextLength = currentLength < ChunkSize ? 0 : await plain.ReadFullyAsync(_next, ct).ConfigureAwait(false);
            var last = _nextLength == 0;
            var frame = new byte[4 + currentLength + TagSize];
            BinaryPrimitives.WriteInt32BigEndian(frame, currentLength);
            Span<byte> nonce = stackalloc byte[12];
            Span<byte> aad = stackalloc byte[21];
            FrameParameters(_header, _index++, last, nonce, aad);
            _gcm.Encrypt(nonce, current.AsSpan(0, currentLength), frame.AsSpan(4, currentLength), frame.AsSpan(4 + currentLength), aad);
            _pending = frame;
            _pendingOffset = 0;
            _done = last;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gcm.Dispose();
                plain.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private sealed class Decryptor(Stream cipher, byte[] key, byte[] header) : ReadOnlyStream
    {
        private readonly AesGcm _gcm = new(key, TagSize);
        private readonly byte[] _frame = new byte[ChunkSize + TagSize];
        private byte[] _plain = new byte[ChunkSize];
        private int _plainLength, _plainOffset;
        private uint _index;
        private bool _sawLast;

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_plainOffset == _plainLength)
            {
                if (!await NextFrameAsync(cancellationToken).ConfigureAwait(false)) return 0;
            }
            var n = Math.Min(buffer.Length, _plainLength - _plainOffset);
            _plain.AsMemory(_plainOffset, n).CopyTo(buffer);
            _plainOffset += n;
            return n;
        }

        private async Task<bool> NextFrameAsync(CancellationToken ct)
        {
            var lengthBytes = new byte[4];
            var got = await cipher.ReadFullyAsync(lengthBytes, ct).ConfigureAwait(false);
            if (got == 0)
            {
                if (!_sawLast) throw new InvalidDataException("the encrypted backup is truncated (its last chunk is missing)");
                return false;
            }
            if (_sawLast) throw new InvalidDataException("the encrypted backup has data after its last chunk");
            var length = got == 4 ? BinaryPrimitives.ReadInt32BigEndian(lengthBytes) : -1;
            if (length < 0 || length > ChunkSize) throw new InvalidDataException("the encrypted backup is corrupt (bad chunk length)");
            if (await cipher.ReadFullyAsync(_frame.AsMemory(0, length + TagSize), ct).ConfigureAwait(false) != length + TagSize)
                throw new InvalidDataException("the encrypted backup is truncated");
            // Whether this frame claims to be the last is not stored: try "not last" first, then "last".
            Span<byte> nonce = stackalloc byte[12];
            Span<byte> aad = stackalloc byte[21];
            foreach (var last in (ReadOnlySpan<bool>)[false, true])
            {
                FrameParameters(header, _index, last, nonce, aad);
                try
                {
                    _gcm.Decrypt(nonce, _frame.AsSpan(0, length), _frame.AsSpan(length, TagSize), _plain.AsSpan(0, length), aad);
                    _sawLast = last;
                    _index++;
                    _plainLength = length;
                    _plainOffset = 0;
                    return true;
                }
                catch (AuthenticationTagMismatchException) when (!last)
                {
                }
                catch (AuthenticationTagMismatchException)
                {
                    throw new InvalidDataException("the encrypted backup fails authentication (wrong key, or the data was altered)");
                }
            }
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gcm.Dispose();
                cipher.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
