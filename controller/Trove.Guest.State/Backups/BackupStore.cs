using System.Data.Common;

namespace Trove.Guest.State.Backups;

/// <summary>A backup as Trove shows it. <see cref="State"/> is Trove's: NEW, BUILDING, SAVING, COMPLETED, FAILED, DELETE_FAILED.</summary>
public sealed record BackupRecord
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public string? InstanceId { get; init; }
    public string? ParentId { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public string State { get; init; } = BackupState.New;
    public string? Location { get; init; }
    public string? Checksum { get; init; }
    public string? BackupType { get; init; }
    public double? SizeGb { get; init; }
    public string? Note { get; init; }
    public required string DatastoreVersionId { get; init; }
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
}

public static class BackupState
{
    public const string New = "NEW";
    public const string Building = "BUILDING";
    public const string Saving = "SAVING";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";
    public const string DeleteFailed = "DELETE_FAILED";

    /// <summary>A backup in one of these states is still being written by its guest.</summary>
    public static bool IsRunning(string state) => state is New or Building or Saving;
}

/// <summary>What a guest's <c>update_backup</c> carried (only the fields it sent are set).</summary>
public sealed record BackupUpdate(string? State, string? Location, string? Checksum, string? BackupType, double? SizeGb, string? Note);

/// <summary>Backups: created by the API, written by the guest's reports through the conductor, listed and deleted by the API.</summary>
public sealed class BackupStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private const string Columns = """
        id, project_id, instance_id, parent_id, name, description, state, location, checksum, backup_type, size_gb, note, datastore_version_id,
        created_at, updated_at
        """;

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<BackupRecord> CreateAsync(BackupRecord backup, CancellationToken ct)
    {
        var now = Now;
        backup = backup with { CreatedAt = now, UpdatedAt = now };
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, $"""
            INSERT INTO backups ({Columns}) VALUES (@id, @project, @instance, @parent, @name, @description, @state, @location, @checksum, @type, @size,
                @note, @version, @now, @now)
            """, ct, ("@id", backup.Id), ("@project", backup.ProjectId), ("@instance", Sql.Nullable(backup.InstanceId)), ("@parent", Sql.Nullable(backup.ParentId)),
            ("@name", backup.Name), ("@description", Sql.Nullable(backup.Description)), ("@state", backup.State), ("@location", Sql.Nullable(backup.Location)),
            ("@checksum", Sql.Nullable(backup.Checksum)), ("@type", Sql.Nullable(backup.BackupType)), ("@size", Sql.Nullable(backup.SizeGb)),
            ("@note", Sql.Nullable(backup.Note)), ("@version", backup.DatastoreVersionId), ("@now", now)).ConfigureAwait(false);
        return backup;
    }

    /// <summary>The backup, unless deleted or (with <paramref name="projectId"/>) another project's.</summary>
    public async Task<BackupRecord?> GetAsync(string id, string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return (await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM backups WHERE id = @id AND deleted_at IS NULL AND (@project = '' OR project_id = @project)", Read, ct,
            ("@id", id), ("@project", projectId ?? "")).ConfigureAwait(false)).FirstOrDefault();
    }

    /// <summary>A project's backups, newest first; only one instance's with <paramref name="instanceId"/>.</summary>
    public async Task<IReadOnlyList<BackupRecord>> ListAsync(string projectId, string? instanceId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, $"""
            SELECT {Columns} FROM backups WHERE deleted_at IS NULL AND project_id = @project AND (@instance = '' OR instance_id = @instance)
            ORDER BY created_at DESC, id
            """, Read, ct, ("@project", projectId), ("@instance", instanceId ?? "")).ConfigureAwait(false);
    }

    /// <summary>The instances of a project with a backup running (their status shows BACKUP).</summary>
    public async Task<IReadOnlySet<string>> InstancesBackingUpAsync(string projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return (await Sql.QueryAsync(connection, null, """
            SELECT DISTINCT instance_id FROM backups
            WHERE deleted_at IS NULL AND project_id = @project AND instance_id IS NOT NULL AND state IN ('NEW', 'BUILDING', 'SAVING')
            """, r => r.GetString(0), ct, ("@project", projectId)).ConfigureAwait(false)).ToHashSet();
    }

    /// <summary>Backups made from <paramref name="parentId"/> (an incremental chain's next links).</summary>
    public async Task<IReadOnlyList<BackupRecord>> ChildrenAsync(string parentId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, $"SELECT {Columns} FROM backups WHERE deleted_at IS NULL AND parent_id = @parent", Read, ct,
            ("@parent", parentId)).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies a guest's report to the backup it names; false when no backup with that id belongs to that instance
    /// (Trove requires both to match). A final state is never overwritten by a late BUILDING or SAVING.
    /// </summary>
    public async Task<bool> ApplyGuestUpdateAsync(string backupId, string instanceId, BackupUpdate update, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        List<string> sets = ["updated_at = @now"];
        List<(string, object)> parameters = [("@now", Now), ("@id", backupId), ("@instance", instanceId)];
        void Set(string column, object? value)
        {
            if (value is null) return;
            sets.Add($"{column} = @{column}");
            parameters.Add(($"@{column}", value));
        }
        Set("state", update.State);
        Set("location", update.Location);
        Set("checksum", update.Checksum);
        Set("backup_type", update.BackupType);
        Set("size_gb", update.SizeGb);
        Set("note", update.Note);
        var guard = update.State is BackupState.Building or BackupState.Saving or BackupState.New
            ? " AND state NOT IN ('COMPLETED', 'FAILED', 'DELETE_FAILED', 'RESTORED')" : "";
        var applied = await Sql.ExecuteAsync(connection, null,
            $"UPDATE backups SET {string.Join(", ", sets)} WHERE id = @id AND instance_id = @instance AND deleted_at IS NULL{guard}", ct, [.. parameters])
            .ConfigureAwait(false) == 1;
        if (applied) database.Changes.Pulse();
        return applied;
    }

    /// <summary>Sets the state (and the note) from the control plane's side: a failed flow, a failed delete.</summary>
    public async Task SetStateAsync(string id, string state, string? note, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE backups SET state = @state, note = @note, updated_at = @now WHERE id = @id", ct,
            ("@state", state), ("@note", Sql.Nullable(note)), ("@now", Now), ("@id", id)).ConfigureAwait(false);
    }

    public async Task MarkDeletedAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE backups SET deleted_at = @now, updated_at = @now WHERE id = @id", ct, ("@now", Now), ("@id", id))
            .ConfigureAwait(false);
    }

    private static BackupRecord Read(DbDataReader r) => new()
    {
        Id = r.GetString(0), ProjectId = r.GetString(1), InstanceId = Sql.String(r, 2), ParentId = Sql.String(r, 3), Name = r.GetString(4),
        Description = Sql.String(r, 5), State = r.GetString(6), Location = Sql.String(r, 7), Checksum = Sql.String(r, 8), BackupType = Sql.String(r, 9),
        SizeGb = Sql.Double(r, 10), Note = Sql.String(r, 11), DatastoreVersionId = r.GetString(12), CreatedAt = Sql.Long(r, 13) ?? 0,
        UpdatedAt = Sql.Long(r, 14) ?? 0,
    };
}
