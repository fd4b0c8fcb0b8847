using System.Globalization;
using CliWrap;
using CliWrap.Buffered;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// The server options the configuration files amount to, read the way the server reads them (<c>my_print_defaults</c>
/// follows <c>!includedir</c> and the option groups). Comparing them before and after a change of override files tells
/// whether the change needs a restart or can be applied to the running server: Trove restarts on every replication
/// override change; applying what is dynamic live is what keeps a switchover within seconds.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Options the server can change while it runs (SET GLOBAL) and that replication configurations set.</summary>
    private static readonly HashSet<string> Dynamic = new(StringComparer.Ordinal)
    {
        "read_only", "super_read_only", "gtid_strict_mode", "binlog_format", "sync_binlog", "relay_log_purge", "slave_net_timeout",
        "expire_logs_days", "binlog_expire_logs_seconds", "innodb_flush_log_at_trx_commit", "slave_parallel_threads",
        "slave_parallel_mode", "slave_exec_mode", "max_connections",
    };

    private static readonly string[] Groups = ["mysqld", "server", "mariadb", "mariadbd"];

    private readonly IReadOnlyDictionary<string, string> _values;

    private ServerOptions(IReadOnlyDictionary<string, string> values) => _values = values;

    public static async Task<ServerOptions> ReadAsync(string myCnf, CancellationToken ct)
    {
        if (!File.Exists(myCnf)) return new ServerOptions(new Dictionary<string, string>());
        var tool = File.Exists("/usr/bin/my_print_defaults") ? "/usr/bin/my_print_defaults" : "my_print_defaults";
        var result = await Cli.Wrap(tool).WithArguments([$"--defaults-file={myCnf}", .. Groups])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(ct).ConfigureAwait(false);
        if (result.ExitCode != 0) throw new InvalidOperationException($"my_print_defaults could not read {myCnf}: {result.StandardError.Trim()}");
        return Parse(result.StandardOutput);
    }

    /// <summary><c>--name=value</c> lines; the last one of a name wins, as in the server.</summary>
    public static ServerOptions Parse(string printed)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in printed.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("--", StringComparison.Ordinal)) continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var name = (eq < 0 ? line[2..] : line[2..eq]).Replace('-', '_');
            var value = eq < 0 ? "1" : line[(eq + 1)..];
            if (name.StartsWith("loose_", StringComparison.Ordinal)) name = name[6..];
            if (name.StartsWith("skip_", StringComparison.Ordinal) && eq < 0) (name, value) = (name[5..], "0");
            values[name] = Normalize(value);
        }
        return new ServerOptions(values);
    }

    /// <summary>Booleans compare equal whatever way they are spelled.</summary>
    private static string Normalize(string value)
    {
        var v = value.Trim().Trim('"', '\'');
        return v.ToUpperInvariant() switch
        {
            "ON" or "TRUE" or "YES" => "1",
            "OFF" or "FALSE" or "NO" => "0",
            _ => v,
        };
    }

    public string? this[string name] => _values.GetValueOrDefault(name);

    /// <summary>What changed from <paramref name="before"/> to this: (name, new value or null when removed).</summary>
    public IReadOnlyList<(string Name, string? Value)> ChangesFrom(ServerOptions before)
    {
        var changes = new List<(string, string?)>();
        foreach (var (name, value) in _values)
            if (before[name] != value) changes.Add((name, value));
        foreach (var name in before._values.Keys)
            if (!_values.ContainsKey(name)) changes.Add((name, null));
        return changes;
    }

    public static bool IsDynamic(string name) => Dynamic.Contains(name);

    /// <summary>The SQL for <c>SET GLOBAL name = …</c>: numbers as they are, a removed option back to its default, words quoted.</summary>
    public static string SqlValue(string? value) =>
        value is null ? "DEFAULT"
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? value
        : MysqlNames.Literal(value);
}
