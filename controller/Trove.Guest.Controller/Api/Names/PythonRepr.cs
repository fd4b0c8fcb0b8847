using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Controller.Api.Names;

/// <summary>
/// Python's <c>repr()</c> of strings and JSON values, which Trove's messages quote (jsonschema's "'x' is too long", the
/// reserved lists). Also Python's <c>str.isprintable</c>: Trove refuses a MySQL name whose repr shows a backslash.
/// </summary>
public static class PythonRepr
{
    public static string Of(string value)
    {
        // Python quotes with ' unless the text holds a ' and no ".
        var quote = value.Contains('\'') && !value.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(value.Length + 2).Append(quote);
        foreach (var rune in value.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (rune.Value == quote) sb.Append('\\').Append(quote);
                    else if (IsPrintable(rune)) sb.Append(rune.ToString());
                    else if (rune.Value < 0x100) sb.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
                    else if (rune.Value < 0x10000) sb.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
                    else sb.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>A JSON value as Python shows the object json.loads made of it: <c>{'name': 'x'}</c>, <c>True</c>, <c>None</c>.</summary>
    public static string Of(JsonNode? node) => node switch
    {
        null => "None",
        JsonObject o => "{" + string.Join(", ", o.Select(p => $"{Of(p.Key)}: {Of(p.Value)}")) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(Of)) + "]",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => Of(v.GetValue<string>()),
            JsonValueKind.True => "True",
            JsonValueKind.False => "False",
            JsonValueKind.Null => "None",
            _ => Number(v.ToJsonString()),
        },
        _ => node.ToJsonString(),
    };

    /// <summary>A list of strings as Python prints it: <c>['os_admin', 'root']</c>.</summary>
    public static string Of(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(Of)) + "]";

    /// <summary>Python's <c>str.isprintable</c> for one character: everything but controls, format, surrogate, private and unassigned code points and separators other than the space.</summary>
    public static bool IsPrintable(Rune rune)
    {
        if (rune.Value == ' ') return true;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }

    /// <summary>Whether Python's repr of the text has a backslash: a backslash, or a character it must escape.</summary>
    public static bool NeedsEscapes(string value) =>
        value.Contains('\\') || value.EnumerateRunes().Any(r => !IsPrintable(r)) || HasLoneSurrogate(value);

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
            else if (char.IsSurrogate(value[i])) return true;
        }
        return false;
    }

    // JSON numbers as Python's json.loads gives them back: integers as they are, others as floats ("1.0", "1e+20").
    private static string Number(string json)
    {
        if (long.TryParse(json, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return integer.ToString(CultureInfo.InvariantCulture);
        if (!double.TryParse(json, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return json;
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E'))
        {
            // .NET "1E+20" -> Python "1e+20"; Python writes two exponent digits at least ("1e-05").
            var mantissa = text[..text.IndexOf('E')];
            var exponent = int.Parse(text[(text.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
            return $"{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        return text.Contains('.') ? text : text + ".0";
    }
}
