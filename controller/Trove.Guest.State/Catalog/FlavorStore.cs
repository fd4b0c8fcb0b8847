using System.Globalization;

namespace Trove.Guest.State.Catalog;

/// <summary>A flavor: what an instance gets (memory, CPUs, root disk), as Nova's flavors say it and Trove shows it.</summary>
public sealed record Flavor(string Id, string Name, int RamMb, int Vcpus, int DiskGb);

/// <summary>The flavors instances can be created with.</summary>
public sealed class FlavorStore(StateDatabase database)
{
    /// <summary>Adds the flavor, or brings the one with its id up to date (both providers take ON CONFLICT).</summary>
    public async Task AddAsync(Flavor flavor, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, """
            INSERT INTO flavors (id, name, ram_mb, vcpus, disk_gb) VALUES (@id, @name, @ram, @vcpus, @disk)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, ram_mb = excluded.ram_mb, vcpus = excluded.vcpus, disk_gb = excluded.disk_gb
            """, ct, ("@id", flavor.Id), ("@name", flavor.Name), ("@ram", flavor.RamMb), ("@vcpus", flavor.Vcpus), ("@disk", flavor.DiskGb)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Flavor>> ListAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await using var select = Sql.Command(connection, null, "SELECT id, name, ram_mb, vcpus, disk_gb FROM flavors ORDER BY ram_mb, name");
        await using var reader = await select.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var flavors = new List<Flavor>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            flavors.Add(new Flavor(reader.GetString(0), reader.GetString(1), Int(reader.GetValue(2)), Int(reader.GetValue(3)), Int(reader.GetValue(4))));
        }
        return flavors;
    }

    // SQLite hands INTEGER back as Int64, PostgreSQL as Int32.
    private static int Int(object value) => Convert.ToInt32(value, CultureInfo.InvariantCulture);
}
