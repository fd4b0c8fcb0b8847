using System.Globalization;
using System.Text.Json.Nodes;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// Trove's guest logs for MySQL/MariaDB (guest-contract §2.10): the USER logs <c>general</c> and <c>slow_query</c> can be
/// enabled and disabled (an override file in <c>conf.d</c>, and the same values set live); the SYS logs are listed.
/// Publishing to Swift arrives with the object store (backups issue) and answers a clear error until then.
/// </summary>
public sealed class MysqlGuestLogs(AgentOptions options, MysqlConfigFiles files, Func<MysqlAdmin> admin)
{
    private sealed record LogDefinition(string Name, string Type, string File);

    private string DataDir => Path.Combine(options.Datastore.MountPoint, "data");

    private IReadOnlyList<LogDefinition> Definitions =>
    [
        new("general", "USER", Path.Combine(DataDir, $"{options.DatastoreManager}-general.log")),
        new("slow_query", "USER", Path.Combine(DataDir, $"{options.DatastoreManager}-slow_query.log")),
        new("error", "SYS", Path.Combine(options.Guest.StateDir, "mysqld.err")),
        new("guest", "SYS", ""),
    ];

    private static readonly string[] ExposedToUsers = ["general", "slow_query"];

    public JsonArray List(bool isAdmin) =>
        new(Definitions.Where(d => isAdmin || ExposedToUsers.Contains(d.Name)).Select(d => (JsonNode?)Info(d)).ToArray());

    public async Task<JsonObject> ActionAsync(string name, bool enable, bool disable, bool publish, bool discard, CancellationToken ct)
    {
        var log = Definitions.FirstOrDefault(d => d.Name == name)
            ?? throw new RpcFailureException("BadRequest", "trove.common.exception", $"Unknown log '{name}'");
        if (enable && disable)
            throw new RpcFailureException("BadRequest", "trove.common.exception", "Cannot enable and disable log in the same call");
        if (publish || discard)
            throw new RpcFailureException("GuestError", "trove.common.exception", "publishing guest logs to object storage is not implemented by this agent yet");
        if (log.Type == "SYS" && (enable || disable))
            throw new RpcFailureException("BadRequest", "trove.common.exception", $"The '{name}' log is a system log: it can only be published");
        if (enable || disable)
        {
            var settings = enable ? EnableSettings(log) : new Dictionary<string, string> { [$"{log.Name}_log"] = "off" };
            files.RemoveOverride("10-system", $"{(enable ? "disable" : "enable")}_{log.Name}_log");
            files.WriteOverride("10-system", $"{(enable ? "enable" : "disable")}_{log.Name}_log", settings);
            foreach (var (key, value) in settings)
                await admin().SetGlobalAsync(key, double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? value : MysqlNames.Literal(value), ct).ConfigureAwait(false);
        }
        return Info(log);
    }

    private Dictionary<string, string> EnableSettings(LogDefinition log) => log.Name == "general"
        ? new() { ["general_log"] = "on", ["general_log_file"] = log.File, ["log_output"] = "file" }
        : new() { ["slow_query_log"] = "on", ["slow_query_log_file"] = log.File, ["long_query_time"] = "1.0" };

    private JsonObject Info(LogDefinition log)
    {
        var size = log.File.Length > 0 && File.Exists(log.File) ? new FileInfo(log.File).Length : 0;
        var status = log.Type == "SYS"
            ? (log.File.Length > 0 && File.Exists(log.File) ? "Ready" : "Unavailable")
            : files.HasOverride("10-system", $"enable_{log.Name}_log") ? "Enabled" : "Disabled";
        return new JsonObject
        {
            ["name"] = log.Name,
            ["type"] = log.Type,
            ["status"] = status,
            ["published"] = 0,
            ["pending"] = size,
            ["container"] = "None",
            ["prefix"] = "None",
            ["metafile"] = $"{options.GuestId}/{options.DatastoreManager}-{log.Name}_metafile",
        };
    }
}
