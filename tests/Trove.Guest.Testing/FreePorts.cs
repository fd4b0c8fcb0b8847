using System.Net;
using System.Net.Sockets;

namespace Trove.Guest.Testing;

/// <summary>Picks loopback ports nobody listens on.</summary>
public static class FreePorts
{
    // Below the kernel's ephemeral range (32768+ here): a port found free there can be taken by any outgoing connection
    // before our server binds it. Each test assembly (they run as parallel processes) gets a slice of its own, and
    // walks it forward, so a port a test frees (a killed server it will restart) is not handed to anyone else.
    private const int SliceSize = 5000;
    private static readonly int First = (AppDomain.CurrentDomain.FriendlyName switch
    {
        var n when n.Contains("Agent", StringComparison.Ordinal) => 0,
        var n when n.Contains("Messaging", StringComparison.Ordinal) => 1,
        var n when n.Contains("Controller", StringComparison.Ordinal) => 3,
        _ => 2,
    }) * SliceSize + 10000;
    private static readonly int Last = First + SliceSize - 1;
    private static int _next = First + Environment.ProcessId % 1000;

    /// <summary>A free port p (in this assembly's slice of 10000–29999) whose companions p + offsets are free too.</summary>
    public static int Find(params int[] offsets)
    {
        // The whole block [p, p + largest offset] is claimed at once, so a companion port (Swift's account, container and
        // object servers) is never handed out again to someone else.
        var span = offsets.DefaultIfEmpty(0).Max() + 1;
        for (var tries = 0; tries < 2000; tries++)
        {
            var port = Interlocked.Add(ref _next, span) - span + 1;
            if (port + span - 1 > Last)
            {
                Interlocked.Exchange(ref _next, First);
                continue;
            }
            if (IsFree(port) && offsets.All(o => IsFree(port + o))) return port;
        }
        throw new InvalidOperationException("no free loopback port found");
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
