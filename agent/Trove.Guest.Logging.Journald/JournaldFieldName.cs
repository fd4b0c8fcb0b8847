using System.Text;

namespace Trove.Guest.Logging.Journald;

/// <summary>Turns Serilog property names into names journald accepts as user fields.</summary>
internal static class JournaldFieldName
{
    // journald refuses field names longer than this.
    internal const int MaxLength = 64;

    // Positional template properties ({0}, {1}) would otherwise start with a digit, which journald rejects.
    internal const string DigitPrefix = "ARG_";

    // A property that maps onto a field the sink writes itself would add a second value to that field
    // (journald keeps both), so MESSAGE or PRIORITY would become ambiguous; such properties get this prefix.
    internal const string ReservedPrefix = "PROPERTY_";

    private static readonly HashSet<string> Reserved =
        ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "MESSAGE_TEMPLATE", "EXCEPTION"];

    /// <summary>
    /// Upper-cases <paramref name="propertyName"/>, splitting camel case with '_' (MessageId becomes MESSAGE_ID,
    /// HTTPStatus becomes HTTP_STATUS). Any character outside A–Z, a–z, 0–9 acts as a word separator
    /// (user.name becomes USER_NAME); leading and repeated separators are dropped. Returns null when nothing
    /// valid is left (for example a name made only of non-ASCII letters).
    /// </summary>
    internal static string? FromPropertyName(string propertyName)
    {
        var name = new StringBuilder(propertyName.Length + 8);
        for (int i = 0; i < propertyName.Length; i++)
        {
            char c = propertyName[i];
            if (!char.IsAsciiLetterOrDigit(c))
            {
                AppendSeparator(name);
                continue;
            }
            if (char.IsAsciiLetterUpper(c) && i > 0 && StartsCamelCaseWord(propertyName, i))
                AppendSeparator(name);
            name.Append(char.ToUpperInvariant(c));
        }

        string field = name.ToString().TrimEnd('_');
        if (field.Length == 0)
            return null;
        if (char.IsAsciiDigit(field[0]))
            field = DigitPrefix + field;
        if (Reserved.Contains(field))
            field = ReservedPrefix + field;
        return field.Length <= MaxLength ? field : field[..MaxLength].TrimEnd('_');
    }

    // An upper-case letter starts a word after a lower-case letter or digit (userId), or when it is the last
    // capital of an acronym followed by lower case (HTTPStatus: the S).
    private static bool StartsCamelCaseWord(string s, int i)
    {
        char previous = s[i - 1];
        if (char.IsAsciiLetterLower(previous) || char.IsAsciiDigit(previous))
            return true;
        return char.IsAsciiLetterUpper(previous) && i + 1 < s.Length && char.IsAsciiLetterLower(s[i + 1]);
    }

    // No separator at the start (a field name must not begin with '_') and never two in a row.
    private static void AppendSeparator(StringBuilder name)
    {
        if (name.Length > 0 && name[^1] != '_')
            name.Append('_');
    }
}
