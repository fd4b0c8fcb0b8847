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
