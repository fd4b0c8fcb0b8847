using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql.Replication;

/// <summary>The account a replica logs in with at its source (<c>replica_conf.replication_user</c>).</summary>
public sealed record ReplicationUser(string Name, string Password)
{
    public JsonObject ToJson() => new() { ["name"] = Name, ["password"] = Password };

    /// <summary>No secret in a log line or an exception: the name only.</summary>
    public override string ToString() => Name;
}

/// <summary>What the new replica needs to know about the data it is restored from (<c>snapshot.dataset</c>).</summary>
public sealed record Dataset(string? DatastoreManager, double DatasetSizeGb, double VolumeSizeGb, string? SnapshotId)
{
    public JsonObject ToJson() => new()
    {
        ["datastore_manager"] = DatastoreManager, ["dataset_size"] = DatasetSizeGb, ["volume_size"] = VolumeSizeGb, ["snapshot_id"] = SnapshotId,
    };
}

/// <summary>
/// Trove's replication messages (guest-contract §1.2): a <em>Snapshot</em> (from <c>get_replication_snapshot</c>, with a
/// <c>dataset</c> and a <c>replication_strategy</c>) or a <em>ReplicaInfo</em> (from <c>get_replica_context</c>, with
/// MariaDB's <c>log_position.gtid_pos</c>). Both name the source and the replication user; Queens put the user under
/// <c>log_position</c> at the top level, Zed under <c>replica_conf</c>: both are read.
/// </summary>
public sealed record ReplicaInfo(string Host, int Port, ReplicationUser User, string? Strategy, Dataset? Dataset, string? GtidPosition)
{
    public static ReplicaInfo FromJson(JsonNode? node, string argument)
    {
        if (node is not JsonObject o) throw RpcFailureException.TypeError($"'{argument}' must be an object");
        var master = o["master"] as JsonObject ?? throw RpcFailureException.ValueError($"'{argument}' has no 'master'");
        var host = Str(master, "host") ?? throw RpcFailureException.ValueError($"'{argument}.master' has no 'host'");
        ValidateHost(host);
        var port = master["port"] switch
        {
            JsonValue v when v.TryGetValue<int>(out var p) => p,
            JsonValue v when v.GetValueKind() == JsonValueKind.String && int.TryParse(v.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var p) => p,
            null => 3306,
            _ => -1,
        };
        if (port is < 1 or > 65535) throw RpcFailureException.ValueError($"'{argument}.master.port' is not a TCP port");

        var conf = o["replica_conf"] as JsonObject;
        var position = conf?["log_position"] as JsonObject ?? o["log_position"] as JsonObject;
        var userNode = conf?["replication_user"] as JsonObject ?? position?["replication_user"] as JsonObject
            ?? throw RpcFailureException.ValueError($"'{argument}' names no replication_user");
        var name = Str(userNode, "name") ?? throw RpcFailureException.ValueError("the replication user has no name");
        var password = Str(userNode, "password") ?? throw RpcFailureException.ValueError($"the replication user {name} has no password");
        MysqlNames.ValidateUser(name, "%");
        MysqlNames.ValidatePassword(password);

        Dataset? dataset = null;
        if (o["dataset"] is JsonObject d)
        {
            dataset = new Dataset(Str(d, "datastore_manager"), Number(d["dataset_size"]), Number(d["volume_size"]), Str(d, "snapshot_id"));
            if (dataset.DatasetSizeGb < 0) throw RpcFailureException.ValueError("'dataset.dataset_size' must be a size in GB");
        }
        var gtid = Str(position ?? [], "gtid_pos");
        if (gtid is not null) GtidText.Validate(gtid);
        return new ReplicaInfo(host, port, new ReplicationUser(name, password), Str(o, "replication_strategy"), dataset, gtid);
    }

    /// <summary>A Snapshot, as <c>get_replication_snapshot</c> returns it (the control plane adds <c>config</c>).</summary>
    public JsonObject ToSnapshotJson() => new()
    {
        ["dataset"] = Dataset?.ToJson(),
        ["replication_strategy"] = Strategy,
        ["master"] = new JsonObject { ["host"] = Host, ["port"] = Port },
        ["replica_conf"] = new JsonObject { ["log_position"] = new JsonObject(), ["replication_user"] = User.ToJson() },
    };

    /// <summary>A ReplicaInfo, as <c>get_replica_context</c> returns it.</summary>
    public JsonObject ToContextJson()
    {
        var position = new JsonObject();
        if (GtidPosition is not null) position["gtid_pos"] = GtidPosition;
        return new JsonObject
        {
            ["master"] = new JsonObject { ["host"] = Host, ["port"] = Port },
            ["replica_conf"] = new JsonObject { ["log_position"] = position, ["replication_user"] = User.ToJson() },
        };
    }

    /// <summary>A host name or an IP address: nothing that could leave the SQL string literal it is written into.</summary>
    private static void ValidateHost(string host)
    {
        if (IPAddress.TryParse(host, out _)) return;
        if (host.Length is 0 or > 253 || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-'))
            throw RpcFailureException.ValueError($"'{host}' is not a host name or an IP address");
    }

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static double Number(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.GetValueKind() == JsonValueKind.String && double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => 0,
    };
}

/// <summary>GTID sets as they travel in messages: checked before they go into SQL text.</summary>
public static class GtidText
{
    /// <summary>MariaDB <c>domain-server-seq[,…]</c> and MySQL <c>uuid:ranges[,…]</c> use these characters only.</summary>
    public static string Validate(string gtid)
    {
        if (gtid.Length > 65536 || !gtid.All(c => char.IsAsciiHexDigit(c) || c is '-' or ':' or ',' or ' ' or '\n'))
            throw RpcFailureException.ValueError($"'{(gtid.Length > 80 ? gtid[..80] + "…" : gtid)}' is not a GTID set");
        return gtid;
    }
}
