using System.Globalization;

namespace Trove.Guest.State.Catalog;

/// <summary>A datastore version: the guest image and manager an instance of it runs (trove-manage's datastore_version_update).</summary>
public sealed record DatastoreVersion(string Id, string DatastoreId, string Name, string Version, string Manager, string? ImageId, string? ImageTags, bool Active);

/// <summary>A datastore (mysql, mariadb, postgresql...) with its versions and its default one.</summary>
public sealed record Datastore(string Id, string Name, string? DefaultVersionId, IReadOnlyList<DatastoreVersion> Versions);

/// <summary>The datastores and versions instances are created from.</summary>
public sealed class DatastoreStore(StateDatabase database)
{
    public async Task<string> AddAsync(string name, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString();
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "INSERT INTO datastores (id, name) VALUES (@id, @name)", ct, ("@id", id), ("@name", name)).ConfigureAwait(false);
        return id;
    }

    public async Task<string> AddVersionAsync(string datastoreId, string name, string version, string manager, string? imageId, string? imageTags, bool active,
        CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString();
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, """
            INSERT INTO datastore_versions (id, datastore_id, name, version, manager, image_id, image_tags, active)
            VALUES (@id, @datastore, @name, @version, @manager, @image, @tags, @active)
            """, ct, ("@id", id), ("@datastore", datastoreId), ("@name", name), ("@version", version), ("@manager", manager),
            ("@image", (object?)imageId ?? DBNull.Value), ("@tags", (object?)imageTags ?? DBNull.Value), ("@active", active ? 1 : 0)).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// What trove-manage's <c>datastore_version_update</c> (and <c>datastore_update NAME VERSION</c> with
    /// <paramref name="makeDefault"/>) does: the datastore is created when missing; the version is added, or the one of that
    /// name gets the new version number, manager and image and becomes active again (its id, and so the instances and
    /// backups that name it, stay). Its image tags are left as they are. One transaction, so a running controller never
    /// sees a datastore without its version. Returns the version's id.
    /// </summary>
    public async Task<string> UpsertVersionAsync(string datastoreName, string versionName, string version, string manager, string? imageId, bool makeDefault,
        CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        // Writes first: SQLite's transaction is IMMEDIATE (the write lock at once), so a concurrent writer waits instead
        // of failing a read-then-write upgrade.
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, transaction, "INSERT INTO datastores (id, name) VALUES (@id, @name) ON CONFLICT (name) DO NOTHING", ct,
            ("@id", Guid.NewGuid().ToString()), ("@name", datastoreName)).ConfigureAwait(false);
        var datastoreId = (await Sql.QueryAsync(connection, transaction, "SELECT id FROM datastores WHERE name = @name", r => r.GetString(0), ct,
            ("@name", datastoreName)).ConfigureAwait(false)).Single();
        await Sql.ExecuteAsync(connection, transaction, """
            INSERT INTO datastore_versions (id, datastore_id, name, version, manager, image_id, image_tags, active)
            VALUES (@id, @datastore, @name, @version, @manager, @image, NULL, 1)
            ON CONFLICT (datastore_id, name) DO UPDATE SET version = excluded.version, manager = excluded.manager, image_id = excluded.image_id, active = 1
            """, ct, ("@id", Guid.NewGuid().ToString()), ("@datastore", datastoreId), ("@name", versionName), ("@version", version), ("@manager", manager),
            ("@image", Sql.Nullable(imageId))).ConfigureAwait(false);
        var versionId = (await Sql.QueryAsync(connection, transaction, "SELECT id FROM datastore_versions WHERE datastore_id = @datastore AND name = @name",
            r => r.GetString(0), ct, ("@datastore", datastoreId), ("@name", versionName)).ConfigureAwait(false)).Single();
        if (makeDefault)
        {
            await Sql.ExecuteAsync(connection, transaction, "UPDATE datastores SET default_version_id = @version WHERE id = @id", ct, ("@version", versionId),
                ("@id", datastoreId)).ConfigureAwait(false);
        }
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return versionId;
    }

    public async Task SetDefaultVersionAsync(string datastoreId, string versionId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE datastores SET default_version_id = @version WHERE id = @id", ct, ("@version", versionId), ("@id", datastoreId))
            .ConfigureAwait(false);
    }

    /// <summary>Every datastore with its versions, by name.</summary>
    public async Task<IReadOnlyList<Datastore>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var versions = new List<DatastoreVersion>();
        await using (var select = Sql.Command(connection, null,
                         "SELECT id, datastore_id, name, version, manager, image_id, image_tags, active FROM datastore_versions ORDER BY name"))
        await using (var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                versions.Add(new DatastoreVersion(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                    Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture) != 0));
            }
        }
        var datastores = new List<Datastore>();
        await using (var select = Sql.Command(connection, null, "SELECT id, name, default_version_id FROM datastores ORDER BY name"))
        await using (var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                datastores.Add(new Datastore(id, reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), versions.Where(v => v.DatastoreId == id).ToList()));
            }
        }
        return datastores;
    }

    /// <summary>The datastore with this id or name, as Trove's API accepts either; null when there is none.</summary>
    public async Task<Datastore?> FindAsync(string idOrName, CancellationToken ct)
    {
        var all = await ListAsync(ct).ConfigureAwait(false);
        return all.FirstOrDefault(d => d.Id == idOrName) ?? all.FirstOrDefault(d => d.Name == idOrName);
    }
}
