using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// A minimal client of QEMU's machine protocol over its unix socket: the greeting, <c>qmp_capabilities</c>, then one
/// command per call. Events that arrive in between are skipped.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private QmpClient(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
            var client = new QmpClient(socket);
            _ = await client.ReadAsync(ct).ConfigureAwait(false);
            await client.ExecuteAsync("qmp_capabilities", null, ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns its <c>return</c> value; a QMP error becomes a <see cref="ComputeDriverException"/>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken ct)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        await _writer.WriteLineAsync(request.ToJsonString().AsMemory(), ct).ConfigureAwait(false);
        while (true)
        {
            var reply = await ReadAsync(ct).ConfigureAwait(false);
            if (reply["event"] is not null) continue;
            if (reply["error"] is JsonObject error)
                throw new ComputeDriverException($"qemu refused {command}: {error["class"]}: {error["desc"]}");
            return reply["return"];
        }
    }

    private async Task<JsonObject> ReadAsync(CancellationToken ct)
    {
        var line = await _reader.ReadLineAsync(ct).ConfigureAwait(false) ?? throw new ComputeDriverException("qemu closed its QMP socket");
        return JsonNode.Parse(line) as JsonObject ?? throw new ComputeDriverException($"qemu sent a QMP line that is not an object: {line}");
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _writer.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
