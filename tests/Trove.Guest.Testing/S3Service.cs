using System.Diagnostics;
using System.Net.Sockets;

namespace Trove.Guest.Testing;

/// <summary>
/// An S3-compatible server on loopback: s3rver (npm), which checks AWS Signature V4 with its fixed keys
/// S3RVER/S3RVER. <c>.ci/setup</c> installs it under ~/.cache/trove-guest/s3rver (or set $TROVE_S3RVER to its
/// bin/s3rver.js). Started as our child and stopped by its PID.
/// </summary>
public sealed class S3Service : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly string _directory;

    private S3Service(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Endpoint = $"http://127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    private static string Script => Environment.GetEnvironmentVariable("TROVE_S3RVER") is { Length: > 0 } s
        ? s
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "trove-guest", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js");

    public static async Task<S3Service> StartAsync()
    {
        if (!File.Exists(Script))
            throw new InvalidOperationException($"s3rver is not installed at {Script}: run `npm install --prefix ~/.cache/trove-guest/s3rver s3rver@3.7.1` (.ci/setup does)");
        var port = FreePorts.Find();
        var dir = Directory.CreateTempSubdirectory("trove-guest-s3-").FullName;
        var psi = new ProcessStartInfo("node", [Script, "-d", dir, "-a", "127.0.0.1", "-p", port.ToString(), "-s"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return new S3Service(process, dir, port);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                throw new InvalidOperationException($"s3rver did not start on port {port}: {(process.HasExited ? await stderr : "timeout")}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
