using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Trove.Guest.Controller.Api.Names;

/// <summary>
/// Trove's rules for MySQL/MariaDB names, from <c>MySQLSchema</c> and <c>MySQLUser</c> (trove/common/db/mysql/models.py,
/// trove/common/db/models.py), with their ValueError messages. Each check answers null when the value passes. They
/// are what keeps SQL out of names: quotes, backticks, semicolons, backslashes and unprintable characters are refused
/// before a request reaches a guest.
/// </summary>
public static partial class MySqlNameRules
{
    public const int MaxSchemaNameLength = 64;
    public const int MaxUserNameLength = 16;

    /// <summary>Trove's <c>ignore_dbs</c> for MySQL (MariaDB's list lacks <c>sys</c>; our agent hides it on both).</summary>
    public static IReadOnlyList<string> IgnoredDatabases { get; } = ["mysql", "information_schema", "performance_schema", "sys"];

    /// <summary>Trove's <c>ignore_users</c>: the agent's own administrator and root (managed by the root API).</summary>
    public static IReadOnlyList<string> IgnoredUsers { get; } = ["os_admin", "root"];

    [GeneratedRegex(@"^[A-Za-z0-9_-]+[\s\?\#\@]*[A-Za-z0-9_-]+$")]
    private static partial Regex SchemaName();

    [GeneratedRegex("""^\s|\s$|'|"|;|`|,|/|\\""")]
    private static partial Regex NotSupportedInUserFields();

    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")]
    private static partial Regex DottedQuad();

    public static string? SchemaNameProblem(string name)
    {
        if (name.Length == 0) return "Schema name empty.";
        if (Length(name) > MaxSchemaNameLength) return $"Schema name '{name}' is too long. Max length = {MaxSchemaNameLength}.";
        // Trove: the pattern, and nothing Python's repr would escape (a backslash, a control character...).
        if (!SchemaName().IsMatch(name) || PythonRepr.NeedsEscapes(name)) return $"'{name}' is not a valid schema name.";
        return null;
    }

    public static string? ReservedDatabase(string name) =>
        IgnoredDatabases.Contains(name) ? $"Database name \"{name}\" is on the reserved list: {PythonRepr.Of(IgnoredDatabases)}." : null;

    public static string? UserNameProblem(string name)
    {
        if (name.Length == 0) return "User name empty.";
        if (Length(name) > MaxUserNameLength) return $"User name '{name}' is too long. Max length = {MaxUserNameLength}.";
        return IsValidUserField(name) ? null : $"'{name}' is not a valid user name.";
    }

    public static string? ReservedUser(string name) =>
        IgnoredUsers.Contains(name) ? $"User name \"{name}\" is on the reserved list: {PythonRepr.Of(IgnoredUsers)}." : null;

    /// <summary>
    /// Trove's check with <c>hostname_require_valid_ip</c> (its default): <c>%</c>, or an IP address or network once each
    /// <c>%</c> is read as <c>1</c> (<c>10.0.0.%</c>).
    /// </summary>
    public static string? HostProblem(string? host)
    {
        if (host is null or "%") return null;
        return IsIpNetwork(host.Replace('%', '1')) ? null : $"'{host}' is not a valid hostname.";
    }

    /// <summary>
    /// Trove's password rule (the user-name characters). Unlike Trove ("'secret' is not a valid password."), the message
    /// does not quote the password back.
    /// </summary>
    public static string? PasswordProblem(string password) =>
        IsValidUserField(password) ? null
            : "The password is not valid: it is empty, starts or ends with whitespace, or holds one of ' \" ; ` , / \\ or an unprintable character.";

    /// <summary>
    /// A database's character set and collation as Trove's setters take them (the character set first; a collation alone
    /// brings its character set): the values for the guest, or the message.
    /// </summary>
    public static (string? CharacterSet, string? Collate, string? Problem) Encoding(string? characterSet, string? collate)
    {
        if (string.IsNullOrEmpty(characterSet)) characterSet = null;
        else if (!MySqlCharsets.Charsets.ContainsKey(characterSet)) return (null, null, $"'{characterSet}' not a valid character set.");
        if (string.IsNullOrEmpty(collate)) return (characterSet, null, null);
        if (characterSet is not null)
            return MySqlCharsets.Charsets[characterSet].Contains(collate)
                ? (characterSet, collate, null)
                : (null, null, $"{collate} not a valid collation for charset {characterSet}.");
        return MySqlCharsets.Collations.TryGetValue(collate, out var owner)
            ? (owner, collate, null)
            : (null, null, $"'{collate}' not a valid collation.");
    }

    // MySQLUser._is_valid_string: not empty, none of the characters SQL would need quoted, nothing repr escapes.
    private static bool IsValidUserField(string value) =>
        value.Length > 0 && !NotSupportedInUserFields().IsMatch(value) && !PythonRepr.NeedsEscapes(value);

    // Python's len(): code points.
    private static int Length(string value) => value.EnumerateRunes().Count();

    // netaddr.IPNetwork: an IPv4 (dotted quad) or IPv6 address with an optional prefix length.
    private static bool IsIpNetwork(string value)
    {
        var slash = value.IndexOf('/');
        var address = slash < 0 ? value : value[..slash];
        int maxPrefix;
        if (DottedQuad().IsMatch(address)) maxPrefix = 32;
        else if (address.Contains(':') && IPAddress.TryParse(address, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && !address.Contains('%'))
            maxPrefix = 128;
        else return false;
        if (slash < 0) return true;
        var prefix = value[(slash + 1)..];
        return prefix.Length is > 0 and <= 3 && prefix.All(char.IsAsciiDigit) && int.Parse(prefix, System.Globalization.CultureInfo.InvariantCulture) <= maxPrefix;
    }
}
