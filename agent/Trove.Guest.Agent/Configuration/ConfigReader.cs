using System.Globalization;

namespace Trove.Guest.Agent.Configuration;

/// <summary>Typed reads from an <see cref="IniDocument"/>; remembers which keys it used so the rest can be reported.</summary>
internal sealed class ConfigReader(IniDocument document)
{
    private readonly HashSet<(string, string)> _used = [];

    public IEnumerable<(string Section, string Key)> UnusedKeys => document.Keys.Where(k => !_used.Contains(k));

    public string? String(string section, string key, string? fallback = null)
    {
        _used.Add((section, key));
        return document.TryGet(section, key, out var value, out _) ? value : fallback;
    }

    public string Required(string section, string key)
    {
        var value = String(section, key);
        return string.IsNullOrWhiteSpace(value)
            ? throw new ConfigException($"[{section}] {key} is required and not set in any configuration file")
            : value;
    }

    public int Int(string section, string key, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        (int)Long(section, key, fallback, min, max);

    public long Long(string section, string key, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        _used.Add((section, key));
        if (!document.TryGet(section, key, out var value, out var source)) return fallback;
        if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
            throw ConfigException.For(source, $"'{value}' is not an integer");
        if (i < min || i > max) throw ConfigException.For(source, $"{i} is out of range [{min}, {max}]");
        return i;
    }

    public bool Bool(string section, string key, bool fallback)
    {
        _used.Add((section, key));
        if (!document.TryGet(section, key, out var value, out var source)) return fallback;
        return value.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw ConfigException.For(source, $"'{value}' is not a boolean (true/false)"),
        };
    }

    public IReadOnlyList<string> List(string section, string key, string fallback) =>
        (String(section, key, fallback) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public T Choice<T>(string section, string key, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        _used.Add((section, key));
        if (!document.TryGet(section, key, out var value, out var source)) return fallback;
        return choices.TryGetValue(value.ToLowerInvariant(), out var choice)
            ? choice
            : throw ConfigException.For(source, $"'{value}' is not one of {string.Join(", ", choices.Keys)}");
    }

    public IEnumerable<(string Key, string Value)> Section(string section)
    {
        foreach (var (key, value) in document.Section(section))
        {
            _used.Add((section, key));
            yield return (key, value);
        }
    }
}
