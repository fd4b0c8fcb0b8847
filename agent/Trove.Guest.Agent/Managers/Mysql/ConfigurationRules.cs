using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>One configuration-group parameter a datastore version accepts.</summary>
public sealed record ConfigurationRule(string Name, string Type, bool RestartRequired, decimal? Min, decimal? Max);

/// <summary>
/// A datastore version's <c>validation-rules.json</c> in Trove's format (<c>configuration-parameters</c> with name, type,
/// min, max, restart_required). Overrides are checked against it before anything is written or set.
/// </summary>
public sealed class ConfigurationRules
{
    private readonly Dictionary<string, ConfigurationRule> _rules;

    private ConfigurationRules(Dictionary<string, ConfigurationRule> rules) => _rules = rules;

    public IReadOnlyDictionary<string, ConfigurationRule> Rules => _rules;

    public static ConfigurationRules Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var rules = new Dictionary<string, ConfigurationRule>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.GetProperty("configuration-parameters").EnumerateArray())
        {
            var name = p.GetProperty("name").GetString()!;
            rules[name] = new ConfigurationRule(
                name,
                p.GetProperty("type").GetString()!,
                p.TryGetProperty("restart_required", out var r) && r.GetBoolean(),
                p.TryGetProperty("min", out var min) ? min.GetDecimal() : null,
                p.TryGetProperty("max", out var max) ? max.GetDecimal() : null);
        }
        return new ConfigurationRules(rules);
    }

    public bool RequiresRestart(string name) => _rules.TryGetValue(name, out var rule) && rule.RestartRequired;

    /// <summary>Checks every override; all problems are reported together, and nothing is applied when any is found.</summary>
    public void Validate(JsonObject overrides)
    {
        var problems = new List<string>();
        foreach (var (name, value) in overrides)
        {
            if (!_rules.TryGetValue(name, out var rule))
            {
                problems.Add($"'{name}' is not a configurable parameter");
                continue;
            }
            if (Check(rule, value) is { } problem) problems.Add($"{name}: {problem}");
        }
        if (problems.Count > 0) throw RpcFailureException.ValueError("invalid configuration: " + string.Join("; ", problems));
    }

    private static string? Check(ConfigurationRule rule, JsonNode? value)
    {
        if (value is not JsonValue v) return "a value is required";
        switch (rule.Type)
        {
            case "boolean":
                return v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                       || v.GetValueKind() == JsonValueKind.Number && v.ToJsonString() is "0" or "1"
                       || v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().ToUpperInvariant() is "ON" or "OFF" or "TRUE" or "FALSE" or "0" or "1"
                    ? null : "expected a boolean";
            case "integer":
            case "float":
                decimal number;
                if (v.GetValueKind() == JsonValueKind.Number)
                {
                    if (!decimal.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number)) return "not a number";
                    if (rule.Type == "integer" && number != decimal.Truncate(number)) return "expected an integer";
                }
                else if (rule.Type == "integer" && v.GetValueKind() == JsonValueKind.String && TryParseSize(v.GetValue<string>(), out number))
                {
                }
                else
                {
                    return $"expected {(rule.Type == "integer" ? "an integer" : "a number")}";
                }
                if (rule.Min is { } min && number < min) return $"{number} is below the minimum {min}";
                if (rule.Max is { } max && number > max) return $"{number} is above the maximum {max}";
                return null;
            case "string":
                return v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().IndexOfAny(['\n', '\r']) < 0 ? null : "expected a one-line string";
            default:
                return $"the rules file has an unknown type '{rule.Type}'";
        }
    }

    /// <summary>An integer with an optional K/M/G suffix, as MariaDB takes sizes.</summary>
    private static bool TryParseSize(string s, out decimal value)
    {
        value = 0;
        if (s.Length == 0) return false;
        var factor = char.ToUpperInvariant(s[^1]) switch { 'K' => 1024m, 'M' => 1024m * 1024, 'G' => 1024m * 1024 * 1024, _ => 1m };
        var digits = factor == 1m ? s : s[..^1];
        if (!decimal.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        value = n * factor;
        return true;
    }
}
