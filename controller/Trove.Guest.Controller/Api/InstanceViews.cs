using System.Globalization;
using Microsoft.AspNetCore.Http;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;

namespace Trove.Guest.Controller.Api;

/// <summary>
/// Trove's instance views (trove/instance/views.py): <c>status</c> from the task first (BUILD, REBOOT, RESIZE, PROMOTE,
/// EJECT, DETACH, SHUTDOWN while deleting, BACKUP while a backup runs, ERROR after a failed task), ACTIVE otherwise; and
/// <c>operating_status</c>, the database's own status from the guest's heartbeats (HEALTHY, ACTIVE, SHUTDOWN, ERROR...),
/// shown only while no task runs. A guest silent for longer than <c>agent_heartbeat_expiry</c> shows ERROR
/// (Trove's <c>guestagent error</c>).
/// </summary>
public sealed class InstanceViews(HttpContext http, string projectId, IReadOnlyList<Datastore> datastores, TimeSpan heartbeatExpiry, DateTimeOffset now)
{
    public static string Status(InstanceRecord i, bool backupRunning) => i.TaskStatus switch
    {
        InstanceTaskStatus.Error or InstanceTaskStatus.BuildError => "ERROR",
        InstanceTaskStatus.Building => "BUILD",
        InstanceTaskStatus.Rebooting => "REBOOT",
        InstanceTaskStatus.Resizing => "RESIZE",
        InstanceTaskStatus.Promoting => "PROMOTE",
        InstanceTaskStatus.Ejecting => "EJECT",
        InstanceTaskStatus.Detaching => "DETACH",
        InstanceTaskStatus.Deleting => "SHUTDOWN",
        InstanceTaskStatus.BackingUp => "BACKUP",
        _ when backupRunning => "BACKUP",
        _ => "ACTIVE",
    };

    /// <summary>The service status's API name (guest contract §3.4).</summary>
    public static string OperatingStatus(InstanceRecord i, TimeSpan expiry, DateTimeOffset now)
    {
        if (i.TaskStatus != InstanceTaskStatus.None) return "";
        var stale = i.LastHeartbeatAt is { } last && now.ToUnixTimeMilliseconds() - last > expiry.TotalMilliseconds;
        return i.ServiceStatus switch
        {
            _ when stale => "ERROR",
            "healthy" => "HEALTHY",
            "running" => "ACTIVE",
            "paused" or "shutdown" or "crashed" => "SHUTDOWN",
            "failed to spawn" => "FAILED",
            "building" or "instance ready" or "new" => "BUILD",
            "restart required" => "RESTART_REQUIRED",
            "blocked" => "BLOCKED",
            "restarting" => "RESTARTING",
            _ => "ERROR",
        };
    }

    public Dictionary<string, object?> View(InstanceRecord i, bool backupRunning, IReadOnlyList<InstanceRecord> replicas, bool detail)
    {
        var (datastore, version) = Version(i.DatastoreVersionId);
        var view = new Dictionary<string, object?>
        {
            ["id"] = i.Id, ["name"] = i.Name, ["status"] = Status(i, backupRunning), ["operating_status"] = OperatingStatus(i, heartbeatExpiry, now),
            ["links"] = Links($"instances/{i.Id}"),
            ["flavor"] = new Dictionary<string, object> { ["id"] = i.FlavorId, ["links"] = Links($"flavors/{i.FlavorId}") },
            ["datastore"] = new Dictionary<string, object?> { ["type"] = datastore?.Name, ["version"] = version?.Name },
            ["region"] = "RegionOne",
            ["access"] = new Dictionary<string, object> { ["is_public"] = false },
            ["volume"] = new Dictionary<string, object> { ["size"] = i.VolumeSizeGb },
        };
        if (i.ReplicaOf is { } source) view["replica_of"] = new Dictionary<string, object> { ["id"] = source, ["links"] = Links($"instances/{source}") };
        if (replicas.Count > 0)
            view["replicas"] = replicas.Select(r => new Dictionary<string, object> { ["id"] = r.Id, ["links"] = Links($"instances/{r.Id}") }).ToList();
        if (!detail) return view;
        view["created"] = Time(i.CreatedAt);
        view["updated"] = Time(i.UpdatedAt);
        view["service_status_updated"] = i.LastHeartbeatAt is { } heartbeat ? Time(heartbeat) : Time(i.UpdatedAt);
        ((Dictionary<string, object?>)view["datastore"]!)["version_number"] = version?.Version;
        if (i.Fault is { } fault)
            view["fault"] = new Dictionary<string, object?> { ["message"] = fault, ["created"] = Time(i.UpdatedAt), ["details"] = null };
        if (i.ConfigurationId is { } configuration)
            view["configuration"] = new Dictionary<string, object> { ["id"] = configuration, ["links"] = Links($"configurations/{configuration}") };
        return view;
    }

    private (Datastore?, DatastoreVersion?) Version(string versionId)
    {
        foreach (var d in datastores)
        {
            if (d.Versions.FirstOrDefault(v => v.Id == versionId) is { } v) return (d, v);
        }
        return (null, null);
    }

    // The request's base, once per view set: a list makes four links per instance.
    private readonly string _self = $"{http.Request.Scheme}://{http.Request.Host}/v1.0/{projectId}/";
    private readonly string _bookmark = $"{http.Request.Scheme}://{http.Request.Host}/{projectId}/";

    private List<Dictionary<string, string>> Links(string path) =>
    [
        new(2) { ["rel"] = "self", ["href"] = _self + path },
        new(2) { ["rel"] = "bookmark", ["href"] = _bookmark + path },
    ];

    /// <summary>Trove's timestamps: ISO 8601 in UTC without a zone suffix.</summary>
    public static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
}
