using System.Globalization;

namespace Trove.Guest.Messaging.Transport;

/// <summary>One broker of a transport URL.</summary>
public sealed record TransportHost(string Host, int Port, string? UserName, string? Password)
{
    public override string ToString() => $"{(UserName is null ? "" : UserName + "@")}{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}";
}

/// <summary>
/// An oslo.messaging transport URL as <c>TransportURL.parse</c> reads it:
/// <c>rabbit://user:pass@host:port[,user:pass@host2:port]/vhost?option=value</c>. Query options are driver options
/// (<see cref="RabbitDriverOptions"/>). <see cref="ToString"/> never shows passwords, so a URL can be logged.
/// </summary>
public sealed class TransportUrl
{
    public const int DefaultPort = 5672;

    public TransportUrl(string scheme, IReadOnlyList<TransportHost> hosts, string virtualHost, IReadOnlyDictionary<string, string> options)
    {
        Scheme = scheme;
        Hosts = hosts;
        VirtualHost = virtualHost;
        Options = options;
    }

    public string Scheme { get; }
    public IReadOnlyList<TransportHost> Hosts { get; }

    /// <summary>The vhost; <c>/</c> when the URL has no path (oslo's default).</summary>
    public string VirtualHost { get; }

    public IReadOnlyDictionary<string, string> Options { get; }

    public static TransportUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0) throw new FormatException("transport URL must look like rabbit://user:pass@host:port/vhost");
        var scheme = url[..schemeEnd].ToLowerInvariant();
        // oslo accepts "rabbit" and the "kombu+<driver>" aliases; "amqp" there is the AMQP 1.0 driver, which we do not speak.
        if (scheme is not ("rabbit" or "kombu" or "kombu+rabbit" or "kombu+amqp"))
            throw new FormatException($"transport URL scheme '{scheme}' is not supported; use rabbit://");
        var rest = url[(schemeEnd + 3)..];

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var query = rest.IndexOf('?');
        if (query >= 0)
        {
            foreach (var pair in rest[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                options[key] = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            }
            rest = rest[..query];
        }

        var slash = rest.IndexOf('/');
        var netloc = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : Uri.UnescapeDataString(rest[(slash + 1)..]);
        var virtualHost = path.Length == 0 ? "/" : path;

        var hosts = new List<TransportHost>();
        foreach (var part in netloc.Split(','))
        {
            if (part.Length == 0) continue;
            hosts.Add(ParseHost(part));
        }
        if (hosts.Count == 0) throw new FormatException("transport URL names no host");
        return new TransportUrl(scheme, hosts, virtualHost, options);
    }

    private static TransportHost ParseHost(string part)
    {
        string? user = null, password = null;
        var at = part.LastIndexOf('@');
        var hostPort = part;
        if (at >= 0)
        {
            var credentials = part[..at];
            hostPort = part[(at + 1)..];
            var colon = credentials.IndexOf(':');
            user = Uri.UnescapeDataString(colon < 0 ? credentials : credentials[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(credentials[(colon + 1)..]);
        }

        string host;
        var port = DefaultPort;
        if (hostPort.StartsWith('['))
        {
            var close = hostPort.IndexOf(']');
            if (close < 0) throw new FormatException($"unterminated IPv6 address in '{hostPort}'");
            host = hostPort[1..close];
            var after = hostPort[(close + 1)..];
            if (after.StartsWith(':')) port = ParsePort(after[1..]);
            else if (after.Length > 0) throw new FormatException($"unexpected '{after}' after IPv6 address");
        }
        else
        {
            var colon = hostPort.LastIndexOf(':');
            host = colon < 0 ? hostPort : hostPort[..colon];
            if (colon >= 0) port = ParsePort(hostPort[(colon + 1)..]);
        }
        if (host.Length == 0) throw new FormatException("transport URL has an empty host name");
        return new TransportHost(host, port, user, password);
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"'{text}' is not a valid port");

    /// <summary>The URL with passwords masked: safe for logs.</summary>
    public override string ToString()
    {
        var hosts = string.Join(",", Hosts.Select(h =>
            (h.UserName is null ? "" : Uri.EscapeDataString(h.UserName) + (h.Password is null ? "" : ":***") + "@")
            + (h.Host.Contains(':') ? $"[{h.Host}]" : h.Host) + ":" + h.Port.ToString(CultureInfo.InvariantCulture)));
        var vhost = VirtualHost == "/" ? "" : Uri.EscapeDataString(VirtualHost);
        var query = Options.Count == 0 ? "" : "?" + string.Join("&", Options.Select(kv => $"{kv.Key}={kv.Value}"));
        return $"{Scheme}://{hosts}/{vhost}{query}";
    }
}
