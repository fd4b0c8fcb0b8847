using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Trove.Guest.Agent.Net;

/// <summary>
/// The guest's primary IPv4 address, as Trove's <c>netutils.get_my_ipv4_address</c> finds it: the address of the
/// interface that holds the default route. Replicas connect to a source at this address.
/// </summary>
public static class PrimaryAddress
{
    public static string Find(string routeTable = "/proc/net/route")
    {
        var device = DefaultRouteInterface(routeTable)
            ?? throw new InvalidOperationException($"there is no default route in {routeTable}: set [trove_guest] replication_address");
        var address = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == device)?.GetIPProperties().UnicastAddresses
            .Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? throw new InvalidOperationException($"the default route's interface {device} has no IPv4 address: set [trove_guest] replication_address");
        return address.ToString();
    }

    /// <summary>The interface of the first route to 0.0.0.0/0 (Iface, Destination 00000000, Mask 00000000).</summary>
    public static string? DefaultRouteInterface(string routeTable)
    {
        if (!File.Exists(routeTable)) return null;
        foreach (var line in File.ReadLines(routeTable).Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length > 7 && f[1] == "00000000" && f[7] == "00000000"
                && int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var flags) && (flags & 1) == 1)
                return f[0];
        }
        return null;
    }

    public static bool IsValid(string address) => IPAddress.TryParse(address, out var a) && a.AddressFamily == AddressFamily.InterNetwork;
}
