using System.Text;

namespace Trove.Guest.Cli.Api;

/// <summary>Names in URL paths, escaped as troveclient does.</summary>
internal static class PathSegment
{
    public static string Escape(string value) => Uri.EscapeDataString(value);

    /// <summary>
    /// troveclient's <c>quote_user_host</c>: <c>quote("user@host")</c> (or the bare user) with every '.' as <c>%2e</c>, so that
    /// Trove's router does not take a dot for a format suffix.
    /// </summary>
    public static string UserHost(string user, string? host)
    {
        var text = string.IsNullOrEmpty(host) ? user : $"{user}@{host}";
        var quoted = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            // Python's urllib.parse.quote keeps letters, digits, "_.-~" and (its default safe) "/".
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'_' or (byte)'-' or (byte)'~' or (byte)'/')
                quoted.Append((char)b);
            else if (b == (byte)'.')
                quoted.Append("%2e");
            else
                quoted.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return quoted.ToString();
    }
}
