using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// Waits, before a first connection, until this host has a route to one of the brokers. The guest agent starts with
/// the network stack (systemd's <c>network.target</c>), not after the DHCP lease (<c>network-online.target</c>): its own
/// start then uses the time the lease takes, and this wait, a route lookup every 50 ms, keeps its first attempt from
/// failing into oslo's one-second retry. A <c>connect()</c> on a UDP socket sends nothing; it only looks the route up.
/// Only brokers named by address are checked: resolving a name needs the network itself, so a URL of names is not
/// waited for (the normal retry covers it).
/// </summary>
public static class BrokerRoute
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Returns true as soon as one of <paramref name="hosts"/> given by address is routable, or at once when none is given
    /// by address; false when <paramref name="limit"/> passes first (the caller connects anyway and its retry takes over).
    /// </summary>
    public static async Task<bool> WaitAsync(IReadOnlyList<TransportHost> hosts, TimeSpan limit, ILogger logger,
        CancellationToken ct, Func<IPAddress, bool>? isRoutable = null)
    {
        isRoutable ??= IsRoutable;
        var addresses = hosts.Select(h => IPAddress.TryParse(h.Host, out var a) ? a : null).OfType<IPAddress>().ToList();
        if (addresses.Count == 0) return true;
        var clock = Stopwatch.StartNew();
        var logged = false;
        while (true)
        {
            if (addresses.Any(isRoutable))
            {
                if (logged) logger.LogInformation("A route to the AMQP server came up after {Seconds:0.00} s", clock.Elapsed.TotalSeconds);
                return true;
            }
            if (clock.Elapsed >= limit)
            {
                logger.LogWarning("No route to the AMQP server after {Seconds:0.0} s; connecting anyway", clock.Elapsed.TotalSeconds);
                return false;
            }
            if (!logged)
            {
                logger.LogInformation("No route to the AMQP server yet ({Addresses}); waiting for the network",
                    string.Join(", ", addresses));
                logged = true;
            }
            await Task.Delay(PollInterval, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the kernel has a route to <paramref name="address"/> (no packet is sent).</summary>
    public static bool IsRoutable(IPAddress address)
    {
        try
        {
            using var probe = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(new IPEndPoint(address, 9));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
