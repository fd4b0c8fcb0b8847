using System.Text;
using System.Text.RegularExpressions;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// Checks names with Trove's rules before any SQL is built, and quotes what goes into SQL as identifiers. Values
/// (user names, hosts, passwords) never go into SQL text: they are bound parameters.
/// </summary>
public static partial class MysqlNames
{
    public const int MaxDatabaseName = 64;

    /// <summary>MySQL 8's limit (MariaDB allows more): a name valid here is valid on both.</summary>
    public const int MaxUserName = 32;

    public const int MaxHost = 255;

    // Trove's MySQLSchema name rule (trove/common/db/mysql/models.py).
    [GeneratedRegex(@"^[A-Za-z0-9_-]+[\s?#@]*[A-Za-z0-9_-]+$")]
    private static partial Regex DatabaseNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex CharsetPattern();

    private const string ForbiddenInUserFields = "'\";`,/\\";

    public static void ValidateDatabase(string name, IReadOnlyCollection<string> reserved)
    {
        if (string.IsNullOrEmpty(name)) throw RpcFailureException.ValueError("database name is empty");
        if (name.Length > MaxDatabaseName)
            throw RpcFailureException.ValueError($"database name is {name.Length} characters long; the limit is {MaxDatabaseName}");
        if (name.Contains('\\') || !DatabaseNamePattern().IsMatch(name))
            throw RpcFailureException.ValueError($"'{Printable(name)}' is not a valid database name (letters, digits, '_' and '-')");
        if (reserved.Contains(name)) throw RpcFailureException.ValueError($"'{name}' is a reserved database");
    }

    public static void ValidateCharset(string? value, string what)
    {
        if (value is not null && !CharsetPattern().IsMatch(value))
            throw RpcFailureException.ValueError($"'{Printable(value)}' is not a valid {what}");
    }

    public static void ValidateUser(string name, string host)
    {
        ValidateUserField(name, "user name", MaxUserName);
        ValidateUserField(host, "host", MaxHost);
    }

    public static void ValidatePassword(string? password)
    {
        if (password is null) return;
        if (password.Length == 0) throw RpcFailureException.ValueError("password is empty");
        if (password.Length > 256) throw RpcFailureException.ValueError("password is longer than 256 characters");
    }

    private static void ValidateUserField(string value, string what, int max)
    {
        if (string.IsNullOrEmpty(value)) throw RpcFailureException.ValueError($"{what} is empty");
        if (value.Length > max) throw RpcFailureException.ValueError($"{what} is {value.Length} characters long; the limit is {max}");
        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
            throw RpcFailureException.ValueError($"{what} '{Printable(value)}' starts or ends with whitespace");
        if (value.IndexOfAny(ForbiddenInUserFields.ToCharArray()) >= 0 || value.Any(char.IsControl))
            throw RpcFailureException.ValueError($"{what} '{Printable(value)}' contains a character Trove does not allow (' \" ; ` , / \\ or a control character)");
    }

    /// <summary>
    /// An account <c>'name'@'host'</c> as SQL text. Names are validated first (no quotes or backslashes can be in them);
    /// the escaping is a second line of defence. MariaDB cannot take an account as a bound parameter next to '@'.
    /// </summary>
    public static string Account(string name, string host) => $"{Literal(name)}@{Literal(host)}";

    /// <summary>A single-quoted SQL string literal (backslash escapes, as with the default sql_mode).</summary>
    public static string Literal(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\'': sb.Append("\\'"); break;
                case '\\': sb.Append("\\\\"); break;
                case '\0': sb.Append("\\0"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>A backtick-quoted identifier, backticks doubled.</summary>
    public static string Identifier(string name) => "`" + name.Replace("`", "``") + "`";

    /// <summary>
    /// A database name for <c>GRANT ... ON db.*</c>: there '_' and '%' are wildcards (MariaDB quirk: a grant on
    /// <c>app_db</c> also opens <c>appXdb</c>), so they are escaped.
    /// </summary>
    public static string GrantTarget(string database) =>
        Identifier(GrantPattern(database)) + ".*";

    /// <summary>A database name as MariaDB stores it in <c>mysql.db</c> after such a grant: backslash, '_' and '%' escaped.</summary>
    public static string GrantPattern(string database) =>
        database.Replace("\\", "\\\\").Replace("_", "\\_").Replace("%", "\\%");

    /// <summary>Undoes <see cref="GrantTarget"/>'s escaping for a name read back from <c>mysql.db</c>.</summary>
    public static string FromGrantPattern(string pattern)
    {
        var sb = new StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\' && i + 1 < pattern.Length) i++;
            sb.Append(pattern[i]);
        }
        return sb.ToString();
    }

    /// <summary>A name fit for an error message (control characters shown as escapes, long names cut).</summary>
    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > 80 ? s[..80] + "…" : s) sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        return sb.ToString();
    }
}
