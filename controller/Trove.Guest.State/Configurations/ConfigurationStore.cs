using System.Data.Common;
using System.Text.Json.Nodes;

namespace Trove.Guest.State.Configurations;

/// <summary>
/// A configuration group: named parameter values for one datastore version, owned by a project. <see cref="ValuesJson"/>
/// is the JSON object of values as validated and stored (parameter name → JSON value). Times are Unix milliseconds.
/// </summary>
public sealed record ConfigurationRecord
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required string DatastoreVersionId { get; init; }
    public required string ValuesJson { get; init; }
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }

    /// <summary>A fresh copy of the values (callers may change it).</summary>
    public JsonObject Values() => JsonNode.Parse(ValuesJson) as JsonObject ?? [];
}

/// <summary>An instance a configuration group is attached to, as Trove's <c>configuration-instances</c> lists it.</summary>
public sealed record ConfiguredInstance(string Id, string Name);

/// <summary>What deleting a configuration group did.</summary>
public enum ConfigurationDeletion
{
    Deleted,

    /// <summary>No such group (or it is another project's, or already deleted).</summary>
    NotFound,

    /// <summary>An instance still uses it (Trove's InstanceAssignedToConfiguration).</summary>
    InUse,
}

/// <summary>Configuration groups. Deleting marks the row, as Trove does; an instance's <c>configuration_id</c> keeps pointing at it.</summary>
public sealed class ConfigurationStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private const string Columns = "id, project_id, name, description, datastore_version_id, values_json, created_at, updated_at";

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<ConfigurationRecord> CreateAsync(string projectId, string name, string? description, string datastoreVersionId, JsonObject values,
        CancellationToken ct)
    {
        var now = Now;
        var record = new ConfigurationRecord
        {
            Id = Guid.NewGuid().ToString(), ProjectId = projectId, Name = name, Description = description, DatastoreVersionId = datastoreVersionId,
            ValuesJson = values.ToJsonString(), CreatedAt = now, UpdatedAt = now,
        };
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, $"""
            INSERT INTO configurations ({Columns}, deleted_at) VALUES (@id, @project, @name, @description, @version, @values, @now, @now, NULL)
            """, ct, ("@id", record.Id), ("@project", projectId), ("@name", name), ("@description", Sql.Nullable(description)),
            ("@version", datastoreVersionId), ("@values", record.ValuesJson), ("@now", now)).ConfigureAwait(false);
        return record;
    }

    /// <summary>The group, when it exists, is not deleted and (with <paramref name="projectId"/>) belongs to that project.</summary>
    public async Task<ConfigurationRecord?> GetAsync(string id, string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var rows = await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM configurations WHERE id = @id AND deleted_at IS NULL AND (@project = '' OR project_id = @project)", Read, ct,
            ("@id", id), ("@project", projectId ?? "")).ConfigureAwait(false);
        return rows.FirstOrDefault();
    }

    /// <summary>The values an instance's group sets (what prepare passes as <c>overrides</c>); null when there is no such group.</summary>
    public async Task<JsonObject?> ValuesForAsync(string id, CancellationToken ct) =>
        (await GetAsync(id, null, ct).ConfigureAwait(false))?.Values();

    /// <summary>A project's groups (every project's with null), oldest first.</summary>
    public async Task<IReadOnlyList<ConfigurationRecord>> ListAsync(string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM configurations WHERE deleted_at IS NULL AND (@project = '' OR project_id = @project) ORDER BY created_at, id", Read, ct,
            ("@project", projectId ?? "")).ConfigureAwait(false);
    }

    /// <summary>Replaces name, description and values; false when the group is gone.</summary>
    public async Task<bool> UpdateAsync(string id, string name, string? description, JsonObject values, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.ExecuteAsync(connection, null, """
            UPDATE configurations SET name = @name, description = @description, values_json = @values, updated_at = @now
            WHERE id = @id AND deleted_at IS NULL
            """, ct, ("@name", name), ("@description", Sql.Nullable(description)), ("@values", values.ToJsonString()), ("@now", Now), ("@id", id))
            .ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// Deletes the group unless an instance that is not deleted still uses it; checked in the same statement, so an
    /// attach that lands at the same moment cannot leave an instance pointing at a deleted group.
    /// </summary>
    public async Task<ConfigurationDeletion> DeleteAsync(string id, string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var deleted = await Sql.ExecuteAsync(connection, null, """
            UPDATE configurations SET deleted_at = @now, updated_at = @now
            WHERE id = @id AND deleted_at IS NULL AND (@project = '' OR project_id = @project)
              AND NOT EXISTS (SELECT 1 FROM instances WHERE configuration_id = @id AND deleted_at IS NULL)
            """, ct, ("@now", Now), ("@id", id), ("@project", projectId ?? "")).ConfigureAwait(false);
        if (deleted == 1) return ConfigurationDeletion.Deleted;
        return await GetAsync(id, projectId, ct).ConfigureAwait(false) is null ? ConfigurationDeletion.NotFound : ConfigurationDeletion.InUse;
    }

    /// <summary>The instances (not deleted) that use the group, oldest first; with <paramref name="projectId"/> only that project's, as Trove shows a non-admin.</summary>
    public async Task<IReadOnlyList<ConfiguredInstance>> InstancesUsingAsync(string id, string? projectId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, """
            SELECT id, name FROM instances WHERE configuration_id = @id AND deleted_at IS NULL AND (@project = '' OR project_id = @project)
            ORDER BY created_at, id
            """, r => new ConfiguredInstance(r.GetString(0), r.GetString(1)), ct, ("@id", id), ("@project", projectId ?? "")).ConfigureAwait(false);
    }

    private static ConfigurationRecord Read(DbDataReader r) => new()
    {
        Id = r.GetString(0), ProjectId = r.GetString(1), Name = r.GetString(2), Description = Sql.String(r, 3), DatastoreVersionId = r.GetString(4),
        ValuesJson = r.GetString(5), CreatedAt = Sql.Long(r, 6) ?? 0, UpdatedAt = Sql.Long(r, 7) ?? 0,
    };
}
