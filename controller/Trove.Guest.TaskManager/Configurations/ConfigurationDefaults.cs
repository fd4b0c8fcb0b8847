using System.Globalization;
using System.Text.Json.Nodes;
using Scriban;
using Scriban.Runtime;

namespace Trove.Guest.TaskManager.Configurations;

/// <summary>
/// The server's own values for a flavor: the <c>[mysqld]</c> section of <c>templates/&lt;manager&gt;/my.cnf.sbn</c> rendered
/// for the flavor's memory, as Trove renders its config template (<c>_render_config_dict</c>) to put a detached group's
/// parameters back live. Only the configuration parameters are kept, typed as the rules say, so the guest can
/// <c>SET GLOBAL</c> them; paths, port and server id are rendered with placeholders and never used.
/// </summary>
public static class ConfigurationDefaults
{
    /// <summary>The defaults by parameter name (the rules' spelling); empty when the manager has no template.</summary>
    public static IReadOnlyDictionary<string, JsonNode?> Render(string templatesDir, string manager, int ramMb, DatastoreParameters parameters)
    {
        var path = Path.Combine(templatesDir, manager, "my.cnf.sbn");
        if (!File.Exists(path)) return new Dictionary<string, JsonNode?>();
        var template = Template.Parse(File.ReadAllText(path), path);
        if (template.HasErrors) throw new InvalidDataException($"{path}: {string.Join("; ", template.Messages)}");
        var context = new TemplateContext { StrictVariables = true };
        context.PushGlobal(new ScriptObject
        {
            ["flavor"] = new ScriptObject { ["ram"] = ramMb },
            ["datastore"] = manager,
            ["datastore_version"] = "",
            ["data_dir"] = "/var/lib/mysql/data",
            ["socket"] = "/var/run/mysqld/mysqld.sock",
            ["port"] = 3306,
            ["config_dir"] = "/etc/mysql",
            ["server_id"] = 1,
        });
        var defaults = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in MysqldSection(template.Render(context)))
        {
            if (parameters.Find(key) is { } rule && Typed(rule, value) is { } typed) defaults[rule.Name] = typed;
        }
        return defaults;
    }

    /// <summary>The <c>key = value</c> lines of <c>[mysqld]</c>, names with <c>_</c> for <c>-</c> as the server reads them.</summary>
    private static IEnumerable<(string Key, string Value)> MysqldSection(string ini)
    {
        var inMysqld = false;
        foreach (var raw in ini.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '!') continue;
            if (line[0] == '[')
            {
                inMysqld = line == "[mysqld]";
                continue;
            }
            if (!inMysqld) continue;
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) continue;
            yield return (line[..equals].Trim().Replace('-', '_'), line[(equals + 1)..].Trim());
        }
    }

    /// <summary>The value as the guest's rules take it: numbers as JSON numbers, sizes (<c>48M</c>) as strings, ON/OFF as booleans.</summary>
    private static JsonNode? Typed(ConfigurationParameter rule, string value) => rule.Type switch
    {
        "boolean" => value.ToUpperInvariant() switch
        {
            "1" or "ON" or "TRUE" => JsonValue.Create(true),
            "0" or "OFF" or "FALSE" => JsonValue.Create(false),
            _ => null,
        },
        "integer" => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(value),
        "float" => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d) : null,
        _ => JsonValue.Create(value),
    };
}
