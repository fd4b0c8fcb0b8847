using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.TaskManager.Configurations;

/// <summary>One configuration-group parameter a datastore accepts (a row of Trove's <c>datastore_configuration_parameters</c>).</summary>
/// <param name="Type"><c>integer</c>, <c>float</c>, <c>string</c> or <c>boolean</c>.</param>
public sealed record ConfigurationParameter(string Name, string Type, bool RestartRequired, decimal? Min, decimal? Max);

/// <summary>The outcome of checking a group's values: the values to store (parameter names as the rules spell them), or Trove's message.</summary>
public sealed record ConfigurationCheck(JsonObject? Values, string? Error)
{
    public bool Ok => Error is null;
}

/// <summary>
/// The parameters of one datastore manager, from <c>templates/&lt;manager&gt;/validation-rules.json</c>, and the checks
/// Trove's API makes before it stores a configuration group (trove/configuration/service.py <c>_validate_configuration</c>).
/// </summary>
public sealed class DatastoreParameters
{
    private readonly Dictionary<string, ConfigurationParameter> _byName;

    public DatastoreParameters(IReadOnlyList<ConfigurationParameter> parameters)
    {
        All = parameters;
        // Trove looks names up lower-cased; MariaDB's variable names are case-insensitive too.
        _byName = parameters.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>In the file's order.</summary>
    public IReadOnlyList<ConfigurationParameter> All { get; }

    public ConfigurationParameter? Find(string name) => _byName.GetValueOrDefault(name);

    public bool RequiresRestart(string name) => Find(name)?.RestartRequired == true;

    /// <summary>
    /// Checks values as Trove does, with Trove's messages: every name must be a parameter, every value of its type,
    /// integers within min/max. Differences, each safer than Trove: an integer is accepted for a float (Trove refuses
    /// <c>2</c> for <c>long_query_time</c>), floats are range-checked too, <c>true</c> is not an integer (Python's bool
    /// is an int), and a string may not span lines (it would add lines to the guest's override file).
    /// </summary>
    public ConfigurationCheck Check(JsonObject values, string datastoreName, string versionName)
    {
        if (values.Count > 0 && All.Count == 0)
            return new(null, $"Configuration groups are not supported for this datastore: {datastoreName} {versionName}");
        var checkedValues = new JsonObject();
        foreach (var (key, value) in values)
        {
            if (Find(key) is not { } rule)
                return new(null, $"The configuration parameter {key} is not supported for this datastore: {datastoreName} {versionName}.");
            if (checkedValues.ContainsKey(rule.Name)) return new(null, $"The configuration parameter {key} is given more than once.");
            if (CheckValue(key, rule, value) is { } problem) return new(null, problem);
            checkedValues[rule.Name] = value?.DeepClone();
        }
        return new(checkedValues, null);
    }

    private static string? CheckValue(string key, ConfigurationParameter rule, JsonNode? value)
    {
        var kind = value is JsonValue v ? v.GetValueKind() : JsonValueKind.Undefined;
        var text = value is JsonValue ? value.ToJsonString() : "";
        var typeError = $"The value provided for the configuration parameter {key} is not of type {rule.Type}.";
        switch (rule.Type)
        {
            case "boolean":
                return kind is JsonValueKind.True or JsonValueKind.False ? null : typeError;
            case "string":
                if (kind != JsonValueKind.String) return typeError;
                return value!.GetValue<string>().IndexOfAny(['\n', '\r', '\0']) >= 0
                    ? $"The value for the configuration parameter {key} must be a single line."
                    : null;
            case "integer":
            case "float":
                if (kind != JsonValueKind.Number) return typeError;
                // Python's json makes an int of a literal without fraction or exponent, a float of any other.
                var integral = text.IndexOfAny(['.', 'e', 'E']) < 0;
                if (rule.Type == "integer" && !integral) return typeError;
                return CheckRange(key, rule, text);
            default:
                return $"Invalid or unsupported type defined in the configuration-parameters configuration file.";
        }
    }

    private static string? CheckRange(string key, ConfigurationParameter rule, string number)
    {
        // Beyond decimal's 28 digits only the sign matters: such a number is past any bound a rules file sets.
        var parsed = decimal.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n);
        var negative = number.StartsWith('-');
        if (rule.Min is { } min && (parsed ? n < min : negative))
            return $"The value for the configuration parameter {key} is less than the minimum allowed: {Bound(min)}";
        if (rule.Max is { } max && (parsed ? n > max : !negative))
            return $"The value for the configuration parameter {key} is greater than the maximum allowed: {Bound(max)}";
        return null;
    }

    private static string Bound(decimal d) => d.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The configuration parameters of each datastore manager, read from <c>&lt;templates&gt;/&lt;manager&gt;/validation-rules.json</c>
/// (Trove's file format: <c>configuration-parameters</c> with <c>name</c>, <c>type</c>, <c>min</c>, <c>max</c>,
/// <c>restart_required</c>). Trove loads the same files into its database with trove-manage; here they are read once
/// per manager and kept.
/// </summary>
public sealed class ConfigurationRules(string templatesDir)
{
    private readonly ConcurrentDictionary<string, DatastoreParameters> _loaded = new(StringComparer.Ordinal);

    public string TemplatesDir { get; } = templatesDir;

    /// <summary>A manager's parameters; none (an empty set) when it has no rules file, as Trove has no rows for it.</summary>
    public DatastoreParameters For(string manager)
    {
        // A manager name becomes a path: only plain names, never "../x".
        if (manager.Length == 0 || manager.IndexOfAny(['/', '\\']) >= 0 || manager.StartsWith('.'))
            throw new ArgumentException($"not a datastore manager name: '{manager}'", nameof(manager));
        return _loaded.GetOrAdd(manager, m => Load(Path.Combine(TemplatesDir, m, "validation-rules.json")));
    }

    public static DatastoreParameters Load(string path)
    {
        if (!File.Exists(path)) return new DatastoreParameters([]);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var parameters = new List<ConfigurationParameter>();
        foreach (var p in doc.RootElement.GetProperty("configuration-parameters").EnumerateArray())
        {
            parameters.Add(new ConfigurationParameter(
                p.GetProperty("name").GetString() ?? throw new InvalidDataException($"{path}: a parameter without a name"),
                p.GetProperty("type").GetString() ?? throw new InvalidDataException($"{path}: a parameter without a type"),
                p.TryGetProperty("restart_required", out var restart) && restart.GetBoolean(),
                p.TryGetProperty("min", out var min) && min.ValueKind == JsonValueKind.Number ? min.GetDecimal() : null,
                p.TryGetProperty("max", out var max) && max.ValueKind == JsonValueKind.Number ? max.GetDecimal() : null));
        }
        return new DatastoreParameters(parameters);
    }
}
