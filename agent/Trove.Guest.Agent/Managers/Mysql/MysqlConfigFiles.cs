using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// The engine's configuration files, laid out as Trove's ImportOverrideStrategy does (guest-contract §2.8):
/// <c>my.cnf</c> (the control plane's rendered template, verbatim) and <c>conf.d/&lt;group&gt;-&lt;NNN&gt;-&lt;change id&gt;.cnf</c>
/// override files, <c>20-user</c> for configuration groups and <c>50-system</c> for what the agent itself needs.
/// </summary>
public sealed partial class MysqlConfigFiles(string configDir)
{
    public string MyCnf => Path.Combine(configDir, "my.cnf");
    public string ConfD => Path.Combine(configDir, "conf.d");
    public string UserOverrides => Path.Combine(ConfD, "20-user-001-common.cnf");

    public void WriteMyCnf(string contents)
    {
        Directory.CreateDirectory(configDir);
        Directory.CreateDirectory(ConfD);
        WriteAtomically(MyCnf, contents, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    public void WriteSystemOverrides(IReadOnlyDictionary<string, string> mysqld) => WriteOverride("50-system", "common", mysqld);

    /// <summary>Writes <c>conf.d/&lt;group&gt;-001-&lt;changeId&gt;.cnf</c> (e.g. <c>10-system</c>, <c>enable_general_log</c>).</summary>
    public void WriteOverride(string group, string changeId, IReadOnlyDictionary<string, string> mysqld)
    {
        Directory.CreateDirectory(ConfD);
        WriteAtomically(OverridePath(group, changeId), Render(mysqld), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>An override written as the control plane rendered it (replication configurations are whole INI texts).</summary>
    public void WriteOverrideText(string group, string changeId, string contents)
    {
        Directory.CreateDirectory(ConfD);
        WriteAtomically(OverridePath(group, changeId), AsFileText(contents),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>True when the override holds exactly what <see cref="WriteOverrideText"/> would write for <paramref name="contents"/>.</summary>
    public bool HasOverrideText(string group, string changeId, string contents) =>
        File.Exists(OverridePath(group, changeId)) && File.ReadAllText(OverridePath(group, changeId)) == AsFileText(contents);

    private static string AsFileText(string contents) => contents.EndsWith('\n') ? contents : contents + "\n";

    public void RemoveOverride(string group, string changeId) => File.Delete(OverridePath(group, changeId));

    public bool HasOverride(string group, string changeId) => File.Exists(OverridePath(group, changeId));

    private string OverridePath(string group, string changeId) => Path.Combine(ConfD, $"{group}-001-{changeId}.cnf");

    /// <summary>
    /// The options in <c>my.cnf</c> and <c>conf.d/</c> that only take effect when a datadir is initialised (its page
    /// size, system tablespace and undo layout, name case): a datadir made elsewhere with other values does not fit them.
    /// </summary>
    public IReadOnlyList<string> OptionsFixedAtInitialisation()
    {
        var files = new List<string>();
        if (File.Exists(MyCnf)) files.Add(MyCnf);
        if (Directory.Exists(ConfD)) files.AddRange(Directory.GetFiles(ConfD, "*.cnf").Order(StringComparer.Ordinal));
        return files
            .SelectMany(File.ReadLines)
            .Select(line => InitialisationOption().Match(line))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value.Replace('-', '_'))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    [System.Text.RegularExpressions.GeneratedRegex(
        @"^\s*(?:loose[-_])?(?<name>lower[-_]case[-_]table[-_]names|innodb[-_]page[-_]size|innodb[-_]data[-_]file[-_]path|innodb[-_]data[-_]home[-_]dir|innodb[-_]undo[-_]tablespaces|innodb[-_]undo[-_]directory|innodb[-_]log[-_]group[-_]home[-_]dir)\s*(?:=|$)",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex InitialisationOption();

    /// <summary>Merges configuration-group overrides into the user override file (update_overrides).</summary>
    public void MergeUserOverrides(JsonObject overrides)
    {
        Directory.CreateDirectory(ConfD);
        var merged = File.Exists(UserOverrides) ? Parse(File.ReadAllText(UserOverrides)) : new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in overrides) merged[MysqlOverrides.ValidName(key)] = Format(value);
        WriteAtomically(UserOverrides, Render(merged), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    public void RemoveUserOverrides()
    {
        foreach (var file in Directory.Exists(ConfD) ? Directory.GetFiles(ConfD, "20-user-*-common.cnf") : []) File.Delete(file);
    }

    /// <summary>A value as Trove writes it into an override file: booleans as Python prints them.</summary>
    private static string Format(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.True => "True",
        JsonValue v when v.GetValueKind() == JsonValueKind.False => "False",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => MysqlOverrides.ValidValue(v.GetValue<string>()),
        _ => value.ToJsonString(),
    };

    private static SortedDictionary<string, string> Parse(string text)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '[' or '#' or ';') continue;
            var eq = line.IndexOf('=');
            if (eq < 0) values[line] = "";
            else values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return values;
    }

    private static string Render(IEnumerable<KeyValuePair<string, string>> mysqld)
    {
        var sb = new StringBuilder("[mysqld]\n");
        foreach (var (key, value) in mysqld) sb.Append(value.Length == 0 ? key : $"{key} = {value}").Append('\n');
        return sb.ToString();
    }

    private static void WriteAtomically(string path, string contents, UnixFileMode mode)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, contents);
        File.SetUnixFileMode(tmp, mode);
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>Configuration-group values applied to a running server (apply_overrides).</summary>
public static class MysqlOverrides
{
    public static string ValidName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? name : throw Messaging.Server.RpcFailureException.ValueError($"'{name}' is not a configuration parameter name");

    public static string ValidValue(string value) =>
        value.IndexOfAny(['\n', '\r']) < 0 ? value : throw Messaging.Server.RpcFailureException.ValueError("a configuration value cannot span lines");

    /// <summary>The SQL literal for <c>SET GLOBAL</c>: 1/0 for booleans, K/M/G sizes in bytes, numbers as they are, strings quoted.</summary>
    public static string SqlValue(JsonNode? value)
    {
        switch (value)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.True: return "1";
            case JsonValue v when v.GetValueKind() == JsonValueKind.False: return "0";
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number: return v.ToJsonString();
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var s = v.GetValue<string>();
                if (s.Length > 1 && long.TryParse(s[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    var factor = char.ToUpperInvariant(s[^1]) switch { 'K' => 1024L, 'M' => 1024L * 1024, 'G' => 1024L * 1024 * 1024, _ => 0 };
                    if (factor > 0) return (n * factor).ToString(CultureInfo.InvariantCulture);
                }
                return MysqlNames.Literal(s);
            default:
                throw Messaging.Server.RpcFailureException.ValueError("configuration values must be booleans, numbers or strings");
        }
    }
}
