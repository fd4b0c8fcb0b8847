using System.Data.Common;

namespace Trove.Guest.State.Instances;

/// <summary>
/// An instance as the controller keeps it. <see cref="TaskStatus"/> is what the control plane is doing to it (Trove's
/// InstanceTasks: <c>NONE</c>, <c>BUILDING</c>, <c>REBOOTING</c>...); <see cref="ServiceStatus"/> is what its guest last
/// reported (Trove's service status descriptions: <c>new</c>, <c>building</c>, <c>healthy</c>...). Times are Unix
/// milliseconds; <see cref="LastHeartbeatSent"/> is the guest's own <c>sent</c> in microseconds.
/// </summary>
public sealed record InstanceRecord
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string Name { get; init; }
    public required string FlavorId { get; init; }
    public required int VolumeSizeGb { get; init; }
    public required string DatastoreVersionId { get; init; }
    public string? ConfigurationId { get; init; }
    public string? ReplicaOf { get; init; }
    public string ServiceStatus { get; init; } = InstanceServiceStatus.New;
    public string TaskStatus { get; init; } = InstanceTaskStatus.Building;
    public string? ComputeJson { get; init; }
    public string? RpcKey { get; init; }
    public string? Fault { get; init; }
    public long? LastHeartbeatAt { get; init; }
    public long? LastHeartbeatSent { get; init; }
    public long? RootEnabledAt { get; init; }
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
    public long? DeletedAt { get; init; }
}

/// <summary>Trove's InstanceTasks, by the names this controller uses.</summary>
public static class InstanceTaskStatus
{
    public const string None = "NONE";
    public const string Building = "BUILDING";
    public const string Rebooting = "REBOOTING";
    public const string Resizing = "RESIZING";
    public const string BackingUp = "BACKING_UP";
    public const string Promoting = "PROMOTING";
    public const string Ejecting = "EJECTING";
    public const string Detaching = "DETACHING";
    public const string Deleting = "DELETING";
    public const string Restoring = "RESTORING";
    public const string Updating = "UPDATING";

    /// <summary>The last task failed; the fault says why. The instance takes new actions again (only delete, for a failed build).</summary>
    public const string Error = "ERROR";
    public const string BuildError = "BUILDING_ERROR";
}

/// <summary>The guest's service status descriptions (guest contract §3.4) the controller sets itself.</summary>
public static class InstanceServiceStatus
{
    public const string New = "new";
    public const string Building = "building";
    public const string Healthy = "healthy";
    public const string Running = "running";
    public const string FailedToSpawn = "failed to spawn";
    public const string RestartRequired = "restart required";
    public const string Shutdown = "shutdown";
    public const string GuestAgentError = "guestagent error";
}

/// <summary>Instances: what the API lists and shows, what flows and the conductor update.</summary>
public sealed class InstanceStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private const string Columns = """
        id, project_id, name, flavor_id, volume_size_gb, datastore_version_id, configuration_id, replica_of, status, task_status,
        compute_json, rpc_key, fault, last_heartbeat_at, last_heartbeat_sent, root_enabled_at, created_at, updated_at, deleted_at
        """;

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<InstanceRecord> CreateAsync(InstanceRecord instance, CancellationToken ct)
    {
        var now = Now;
        instance = instance with { CreatedAt = now, UpdatedAt = now };
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, $"""
            INSERT INTO instances ({Columns}) VALUES (@id, @project, @name, @flavor, @size, @version, @configuration, @replica_of, @status, @task,
                @compute, @key, @fault, NULL, NULL, NULL, @now, @now, NULL)
            """, ct, ("@id", instance.Id), ("@project", instance.ProjectId), ("@name", instance.Name), ("@flavor", instance.FlavorId),
            ("@size", instance.VolumeSizeGb), ("@version", instance.DatastoreVersionId), ("@configuration", Sql.Nullable(instance.ConfigurationId)),
            ("@replica_of", Sql.Nullable(instance.ReplicaOf)), ("@status", instance.ServiceStatus), ("@task", instance.TaskStatus),
            ("@compute", Sql.Nullable(instance.ComputeJson)), ("@key", Sql.Nullable(instance.RpcKey)), ("@fault", Sql.Nullable(instance.Fault)), ("@now", now))
            .ConfigureAwait(false);
        return instance;
    }

    /// <summary>The instance, when it exists, is not deleted and (with <paramref name="projectId"/>) belongs to that project.</summary>
    public async Task<InstanceRecord?> GetAsync(string id, string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var rows = await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM instances WHERE id = @id AND deleted_at IS NULL AND (@project = '' OR project_id = @project)", Read, ct,
            ("@id", id), ("@project", projectId ?? "")).ConfigureAwait(false);
        return rows.FirstOrDefault();
    }

    /// <summary>A project's instances (every project's with null), oldest first.</summary>
    public async Task<IReadOnlyList<InstanceRecord>> ListAsync(string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM instances WHERE deleted_at IS NULL AND (@project = '' OR project_id = @project) ORDER BY created_at, id", Read, ct,
            ("@project", projectId ?? "")).ConfigureAwait(false);
    }

    /// <summary>Every server the compute driver recorded (<c>compute_json</c>), deleted instances' included: what a host may still hold.</summary>
    public async Task<IReadOnlyList<string>> ServersAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, "SELECT compute_json FROM instances WHERE compute_json IS NOT NULL", r => r.GetString(0), ct).ConfigureAwait(false);
    }

    /// <summary>The replicas that follow <paramref name="sourceId"/>.</summary>
    public async Task<IReadOnlyList<InstanceRecord>> ReplicasOfAsync(string sourceId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, $"SELECT {Columns} FROM instances WHERE deleted_at IS NULL AND replica_of = @source ORDER BY created_at, id",
            Read, ct, ("@source", sourceId)).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a task when the instance is free (no task running: <c>NONE</c> or a failed one's <c>ERROR</c>), atomically;
    /// false when another action holds it (the API answers 409, as Trove does) or it is gone.
    /// </summary>
    public async Task<bool> TryBeginTaskAsync(string id, string task, CancellationToken ct, bool allowFailedBuild = false)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.ExecuteAsync(connection, null, """
            UPDATE instances SET task_status = @task, fault = NULL, updated_at = @now
            WHERE id = @id AND deleted_at IS NULL AND (task_status IN ('NONE', 'ERROR') OR (@failed = 1 AND task_status = 'BUILDING_ERROR'))
            """, ct, ("@task", task), ("@now", Now), ("@id", id), ("@failed", allowFailedBuild ? 1 : 0)).ConfigureAwait(false) == 1;
    }

    /// <summary>Sets the task status (and the fault, which a successful step clears).</summary>
    public Task SetTaskStatusAsync(string id, string task, CancellationToken ct, string? fault = null) =>
        UpdateAsync(id, "task_status = @v1, fault = @v2", ct, task, fault);

    /// <summary>The service status as the control plane sets it (<c>new</c> before prepare, <c>building</c> when it is sent...).</summary>
    public Task SetServiceStatusAsync(string id, string status, CancellationToken ct) => UpdateAsync(id, "status = @v1", ct, status);

    public Task SetComputeAsync(string id, string? computeJson, CancellationToken ct) => UpdateAsync(id, "compute_json = @v1", ct, computeJson);

    public Task SetFlavorAsync(string id, string flavorId, CancellationToken ct) => UpdateAsync(id, "flavor_id = @v1", ct, flavorId);

    public Task SetVolumeSizeAsync(string id, int sizeGb, CancellationToken ct) => UpdateAsync(id, "volume_size_gb = @v1", ct, sizeGb);

    public Task SetConfigurationAsync(string id, string? configurationId, CancellationToken ct) => UpdateAsync(id, "configuration_id = @v1", ct, configurationId);

    public Task SetReplicaOfAsync(string id, string? sourceId, CancellationToken ct) => UpdateAsync(id, "replica_of = @v1", ct, sourceId);

    public Task RenameAsync(string id, string name, CancellationToken ct) => UpdateAsync(id, "name = @v1", ct, name);

    public Task SetFaultAsync(string id, string? fault, CancellationToken ct) => UpdateAsync(id, "fault = @v1", ct, fault);

    public Task SetRootEnabledAsync(string id, CancellationToken ct) => UpdateAsync(id, "root_enabled_at = @v1", ct, Now);

    /// <summary>Marks the instance deleted (it disappears from the API; the row stays for its backups' history).</summary>
    public Task MarkDeletedAsync(string id, CancellationToken ct) => UpdateAsync(id, "deleted_at = @v1, task_status = 'NONE', status = 'shutdown'", ct, Now);

    /// <summary>
    /// Saves a guest heartbeat unless it is older than the newest one seen (its <c>sent</c>, in microseconds, must be strictly
    /// greater: guest contract §3.2) or the stored status is <c>restart required</c> (only a restart clears that, as in Zed).
    /// Returns whether it was saved.
    /// </summary>
    public async Task<bool> RecordHeartbeatAsync(string id, string status, long? sentMicros, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var now = Now;
        // A heartbeat without sent is accepted (Trove logs it as an error), and leaves the sequence where it was.
        var sql = sentMicros is null
            ? """
              UPDATE instances SET status = @status, last_heartbeat_at = @now, updated_at = @now
              WHERE id = @id AND deleted_at IS NULL AND status <> 'restart required'
              """
            : """
              UPDATE instances SET status = @status, last_heartbeat_at = @now, last_heartbeat_sent = @sent, updated_at = @now
              WHERE id = @id AND deleted_at IS NULL AND status <> 'restart required' AND (last_heartbeat_sent IS NULL OR last_heartbeat_sent < @sent)
              """;
        List<(string, object)> parameters = [("@status", status), ("@now", now), ("@id", id)];
        if (sentMicros is { } sent) parameters.Add(("@sent", sent));
        var saved = await Sql.ExecuteAsync(connection, null, sql, ct, [.. parameters]).ConfigureAwait(false) == 1;
        if (saved) database.Changes.Pulse();
        return saved;
    }

    /// <summary>
    /// Claims an <c>update_backup</c> report's place in the instance's sequence: true when its <c>sent</c> is newer than the
    /// last one seen (or it has none), false when it is older and must be dropped.
    /// </summary>
    public async Task<bool> ClaimBackupReportAsync(string id, long? sentMicros, CancellationToken ct)
    {
        if (sentMicros is null) return true;
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.ExecuteAsync(connection, null, """
            UPDATE instances SET last_backup_report_sent = @sent
            WHERE id = @id AND (last_backup_report_sent IS NULL OR last_backup_report_sent < @sent)
            """, ct, ("@sent", sentMicros), ("@id", id)).ConfigureAwait(false) == 1;
    }

    private async Task UpdateAsync(string id, string assignments, CancellationToken ct, object? v1, object? v2 = null)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        List<(string, object)> parameters = [("@v1", Sql.Nullable(v1)), ("@now", Now), ("@id", id)];
        if (assignments.Contains("@v2", StringComparison.Ordinal)) parameters.Add(("@v2", Sql.Nullable(v2)));
        await Sql.ExecuteAsync(connection, null, $"UPDATE instances SET {assignments}, updated_at = @now WHERE id = @id", ct, [.. parameters]).ConfigureAwait(false);
    }

    private static InstanceRecord Read(DbDataReader r) => new()
    {
        Id = r.GetString(0), ProjectId = r.GetString(1), Name = r.GetString(2), FlavorId = r.GetString(3), VolumeSizeGb = Sql.Int(r, 4),
        DatastoreVersionId = r.GetString(5), ConfigurationId = Sql.String(r, 6), ReplicaOf = Sql.String(r, 7), ServiceStatus = r.GetString(8),
        TaskStatus = r.GetString(9), ComputeJson = Sql.String(r, 10), RpcKey = Sql.String(r, 11), Fault = Sql.String(r, 12),
        LastHeartbeatAt = Sql.Long(r, 13), LastHeartbeatSent = Sql.Long(r, 14), RootEnabledAt = Sql.Long(r, 15),
        CreatedAt = Sql.Long(r, 16) ?? 0, UpdatedAt = Sql.Long(r, 17) ?? 0, DeletedAt = Sql.Long(r, 18),
    };
}
