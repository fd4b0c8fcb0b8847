using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Messaging.Protocol;

/// <summary>
/// Writes JSON text exactly as Python's <c>json.dumps</c> does with its defaults (what oslo's
/// <c>jsonutils.dumps</c> and Trove's serializers use): <c>", "</c> and <c>": "</c> separators and
/// <c>ensure_ascii</c>, so every character outside printable ASCII is a lower-case <c>\uXXXX</c> escape.
/// </summary>
/// <remarks>
/// Receivers do not care about whitespace, but Trove encrypts <c>json.dumps(value)</c>: producing the same
/// bytes makes our ciphertexts comparable with the ones python3-trove produces (spec §5.5 vectors).
/// </remarks>
public static class PythonJson
{
    public static string Dumps(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, key);
                    sb.Append(": ");
                    Write(sb, value);
                }
                sb.Append('}');
                break;
            case JsonArray arr:
                sb.Append('[');
                for (var i = 0; i < arr.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, arr[i]);
                }
                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value);
                break;
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(sb, value.GetValue<string>());
                return;
            case JsonValueKind.True:
                sb.Append("true");
                return;
            case JsonValueKind.False:
                sb.Append("false");
                return;
            case JsonValueKind.Null:
                sb.Append("null");
                return;
            case JsonValueKind.Number:
                sb.Append(FormatNumber(value));
                return;
            default:
                throw new InvalidOperationException($"Unsupported JSON value kind {value.GetValueKind()}");
        }
    }

    private static string FormatNumber(JsonValue value)
    {
        // Numbers parsed from JSON keep their original text; numbers built in C# are formatted as Python's
        // repr would: integers plainly, floats round-trippable with at least one fractional digit.
        if (value.TryGetValue<JsonElement>(out var element)) return element.GetRawText();
        if (value.TryGetValue<long>(out var l)) return l.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<int>(out var i)) return i.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<ulong>(out var ul)) return ul.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<decimal>(out var m)) return m.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<double>(out var d)) return FormatFloat(d);
        if (value.TryGetValue<float>(out var f)) return FormatFloat(f);
        return value.ToJsonString();
    }

    /// <summary>Formats a double as Python's <c>float.__repr__</c> (what json.dumps writes).</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";

        // Shortest round-trip digits from .NET, laid out by Python's rule: fixed notation when the decimal
        // exponent is in [-4, 16), otherwise d.ddde+XX.
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = r[0] == '-';
        if (negative) r = r[1..];
        var exponent = 0;
        var e = r.IndexOf('E');
        if (e >= 0)
        {
            exponent = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
            r = r[..e];
        }
        var dot = r.IndexOf('.');
        var intPart = dot < 0 ? r : r[..dot];
        var fracPart = dot < 0 ? "" : r[(dot + 1)..];
        var all = intPart + fracPart;
        var leadingZeros = all.Length - all.TrimStart('0').Length;
        var digits = all.Trim('0');
        var sciExp = intPart.Length - 1 - leadingZeros + exponent;

        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (sciExp is >= -4 and < 16)
        {
            if (sciExp >= 0)
            {
                var intDigits = digits.Length > sciExp + 1 ? digits[..(sciExp + 1)] : digits.PadRight(sciExp + 1, '0');
                var frac = digits.Length > sciExp + 1 ? digits[(sciExp + 1)..] : "0";
                sb.Append(intDigits).Append('.').Append(frac);
            }
            else
            {
                sb.Append("0.").Append('0', -sciExp - 1).Append(digits);
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(sciExp < 0 ? '-' : '+').Append(Math.Abs(sciExp).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Writes a JSON string with <c>ensure_ascii=True</c> escaping.</summary>
    public static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
