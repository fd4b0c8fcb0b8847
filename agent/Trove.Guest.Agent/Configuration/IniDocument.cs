namespace Trove.Guest.Agent.Configuration;

/// <summary>Where a configuration value came from, for error messages that name file, section and key.</summary>
public sealed record ConfigSource(string File, int Line, string Section, string Key)
{
    public override string ToString() => $"{File}:{Line} [{Section}] {Key}";
}

/// <summary>A bad configuration value: start-up stops with this message.</summary>
public sealed class ConfigException(string message) : Exception(message)
{
    public static ConfigException For(ConfigSource source, string problem) => new($"{source}: {problem}");
}

/// <summary>
/// INI files as oslo.config reads them: <c>[section]</c> headers, <c>key = value</c> (or <c>key: value</c>), comments
/// starting with <c>#</c> or <c>;</c>, and continuation lines that start with whitespace. Files read later override
/// earlier ones, key by key.
/// </summary>
public sealed class IniDocument
{
    private readonly Dictionary<(string Section, string Key), (string Value, ConfigSource Source)> _values = new();

    public IEnumerable<(string Section, string Key)> Keys => _values.Keys;

    public void Load(string path)
    {
        string? section = null;
        (string Section, string Key)? last = null;
        var lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.TrimEnd();
            if (line.Length == 0)
            {
                last = null;
                continue;
            }
            if (char.IsWhiteSpace(line[0]) && last is { } cont && !line.TrimStart().StartsWith('#'))
            {
                var (value, source) = _values[cont];
                _values[cont] = (value + "\n" + line.Trim(), source);
                continue;
            }
            var trimmed = line.Trim();
            if (trimmed[0] is '#' or ';') continue;
            if (trimmed[0] == '[')
            {
                if (!trimmed.EndsWith(']'))
                    throw new ConfigException($"{path}:{lineNo}: section header '{trimmed}' has no closing ']'");
                section = trimmed[1..^1].Trim();
                last = null;
                continue;
            }
            var separator = trimmed.IndexOfAny(['=', ':']);
            if (separator <= 0) throw new ConfigException($"{path}:{lineNo}: expected 'key = value', got '{trimmed}'");
            if (section is null) throw new ConfigException($"{path}:{lineNo}: '{trimmed}' comes before any [section]");
            var key = trimmed[..separator].Trim();
            var val = trimmed[(separator + 1)..].Trim();
            _values[(section, key)] = (val, new ConfigSource(path, lineNo, section, key));
            last = (section, key);
        }
    }

    public bool TryGet(string section, string key, out string value, out ConfigSource source)
    {
        if (_values.TryGetValue((section, key), out var entry))
        {
            value = entry.Value;
            source = entry.Source;
            return true;
        }
        value = "";
        source = new ConfigSource("(default)", 0, section, key);
        return false;
    }

    public IEnumerable<(string Key, string Value)> Section(string section) =>
        _values.Where(kv => kv.Key.Section == section).Select(kv => (kv.Key.Key, kv.Value.Value));
}
