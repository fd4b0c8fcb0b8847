using System.Security.Cryptography;
using CliWrap;
using FluentAssertions;
using Trove.Guest.Agent.Backups.Encryption;

namespace Trove.Guest.Agent.Tests.Unit.Backups;

/// <summary>Backup encryption: Trove's OpenSSL format checked against the real openssl, and our GCM format's integrity guarantees.</summary>
public sealed class EncryptionFormatTests
{
    private const string Key = "backup-passphrase-Ü1";

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(3 << 20)]
    public async Task Openssl_decrypts_what_we_encrypt_in_troves_format(int size)
    {
        var plain = RandomNumberGenerator.GetBytes(size);
        var cipher = await ReadAllAsync(OpenSslCbcFormat.Encrypt(new MemoryStream(plain), Key));
        var output = new MemoryStream();
        await (PipeSource.FromBytes(cipher) | Cli.Wrap("openssl").WithArguments(["enc", "-d", "-aes-256-cbc", "-md", "sha512", "-pbkdf2", "-iter", "10000", "-salt", "-pass", "env:K"])
            .WithEnvironmentVariables(e => e.Set("K", Key)) | output).ExecuteAsync();
        output.ToArray().Should().Equal(plain);
    }

    [Fact]
    public async Task We_decrypt_what_openssl_encrypts()
    {
        var plain = Gzipped(1_000_003);
        var cipher = new MemoryStream();
        await (PipeSource.FromBytes(plain) | Cli.Wrap("openssl").WithArguments(["enc", "-aes-256-cbc", "-md", "sha512", "-pbkdf2", "-iter", "10000", "-salt", "-pass", "env:K"])
            .WithEnvironmentVariables(e => e.Set("K", Key)) | cipher).ExecuteAsync();
        cipher.Position = 0;
        var decrypted = await ReadAllAsync(await OpenSslCbcFormat.DecryptAsync(cipher, Key, CancellationToken.None));
        decrypted.Should().Equal(plain);
    }

    [Fact]
    public async Task A_wrong_passphrase_fails_instead_of_producing_garbage()
    {
        var cipher = await ReadAllAsync(OpenSslCbcFormat.Encrypt(new MemoryStream(Gzipped(100_000)), Key));
        var act = async () => await ReadAllAsync(await OpenSslCbcFormat.DecryptAsync(new MemoryStream(cipher), "not the key", CancellationToken.None));
        await act.Should().ThrowAsync<CryptographicException>();
    }

    /// <summary>Queens..Ussuri backups: <c>openssl enc -aes-256-cbc -salt</c>, key from EVP_BytesToKey with MD5 (old OpenSSL) or SHA-256.</summary>
    [Theory]
    [InlineData("md5")]
    [InlineData("sha256")]
    public async Task Legacy_troves_evp_bytes_to_key_backups_decrypt(string digest)
    {
        var plain = Gzipped(300_000);
        var cipher = new MemoryStream();
        await (PipeSource.FromBytes(plain) | Cli.Wrap("openssl").WithArguments(["enc", "-aes-256-cbc", "-md", digest, "-salt", "-pass", "env:K"])
            .WithEnvironmentVariables(e => e.Set("K", Key)) | cipher).ExecuteAsync();
        cipher.Position = 0;
        (await ReadAllAsync(await OpenSslCbcFormat.DecryptAsync(cipher, Key, CancellationToken.None))).Should().Equal(plain);
    }

    /// <summary>What Trove encrypts: a gzip stream (its first bytes tell the key derivations apart).</summary>
    private static byte[] Gzipped(int size)
    {
        var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(RandomNumberGenerator.GetBytes(size));
        return output.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(AesGcmChunkFormat.ChunkSize)]
    [InlineData(AesGcmChunkFormat.ChunkSize * 2 + 17)]
    public async Task Gcm_round_trips(int size)
    {
        var plain = RandomNumberGenerator.GetBytes(size);
        var cipher = await ReadAllAsync(AesGcmChunkFormat.Encrypt(new MemoryStream(plain), Key));
        var decrypted = await ReadAllAsync(await AesGcmChunkFormat.DecryptAsync(new MemoryStream(cipher), Key, CancellationToken.None));
        decrypted.Should().Equal(plain);
    }

    public static TheoryData<string> Damages => ["flip a bit", "drop the last chunk", "cut mid-chunk", "append a chunk", "swap chunks", "wrong key"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Gcm_detects_tampering_truncation_and_reordering(string damage)
    {
        var chunk = AesGcmChunkFormat.ChunkSize;
        var frame = 4 + chunk + 16;
        var plain = RandomNumberGenerator.GetBytes(chunk * 3 + 100);
        var cipher = await ReadAllAsync(AesGcmChunkFormat.Encrypt(new MemoryStream(plain), Key));
        var key = Key;
        byte[] damaged = damage switch
        {
            "flip a bit" => Flip(cipher, 16 + frame + 100),
            "drop the last chunk" => cipher[..(16 + 3 * frame)],
            "cut mid-chunk" => cipher[..(16 + frame + 1000)],
            "append a chunk" => [.. cipher, .. cipher[16..(16 + frame)]],
            "swap chunks" => [.. cipher[..16], .. cipher[(16 + frame)..(16 + 2 * frame)], .. cipher[16..(16 + frame)], .. cipher[(16 + 2 * frame)..]],
            _ => cipher,
        };
        if (damage == "wrong key") key = "another key";
        var act = async () => await ReadAllAsync(await AesGcmChunkFormat.DecryptAsync(new MemoryStream(damaged), key, CancellationToken.None));
        await act.Should().ThrowAsync<InvalidDataException>();
    }

    private static byte[] Flip(byte[] data, int index)
    {
        var copy = data.ToArray();
        copy[index] ^= 1;
        return copy;
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
