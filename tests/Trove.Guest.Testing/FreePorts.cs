using System.Net;
using System.Net.Sockets;

namespace Trove.Guest.Testing;

/// <summary>Picks loopback ports nobody listens on.</summary>
public static class FreePorts
{
    // Test assemblies run in parallel processes: each starts at its own place in the range (by PID), so two processes
    // rarely probe the same ports, and a port checked free here is not taken by a sibling before its server binds it.
    private static int _next = 20000 + (int)((long)Environment.ProcessId * 7919 % 24000);

    /// <summary>A free port p (in 20000–44999) whose companions p + offsets are free too.</summary>
    public static int Find(params int[] offsets)
    {
        for (var tries = 0; tries < 2000; tries++)
        {
            var port = Interlocked.Increment(ref _next);
            if (port > 44999)
            {
                Interlocked.Exchange(ref _next, 20000);
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
