using Trove.Guest.State;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Identity;
using Trove.Guest.State.Migrations;

namespace Trove.Guest.Controller.Configuration;

/// <summary>What the controller does to its database before it serves: migrate, apply the configured flavors, bootstrap the first administrator.</summary>
public static class ControllerStartup
{
    public static async Task PrepareAsync(ControllerConfig config, StateDatabase database, CancellationToken ct)
    {
        await new Migrator(database, StateSchema.Migrations).MigrateAsync(ct).ConfigureAwait(false);
        var flavors = new FlavorStore(database);
        foreach (var f in config.Flavors) await flavors.AddAsync(new Flavor(f.Id, f.Name, f.Ram, f.Vcpus, f.Disk), ct).ConfigureAwait(false);
        var datastores = new DatastoreStore(database);
        foreach (var entry in config.Datastores)
        {
            var datastoreId = (await datastores.FindAsync(entry.Name, ct).ConfigureAwait(false))?.Id ?? await datastores.AddAsync(entry.Name, ct).ConfigureAwait(false);
            var existing = (await datastores.FindAsync(datastoreId, ct).ConfigureAwait(false))!.Versions;
            foreach (var v in entry.Versions.Where(v => existing.All(e => e.Name != v.Name)))
                await datastores.AddVersionAsync(datastoreId, v.Name, v.Version ?? v.Name, v.Manager, v.Image, null, active: true, ct).ConfigureAwait(false);
            if (entry.DefaultVersion is { } defaultName)
            {
                var version = (await datastores.FindAsync(datastoreId, ct).ConfigureAwait(false))!.Versions.FirstOrDefault(v => v.Name == defaultName)
                    ?? throw new ConfigException($"datastore {entry.Name}: default_version {defaultName} is not one of its versions");
                await datastores.SetDefaultVersionAsync(datastoreId, version.Id, ct).ConfigureAwait(false);
            }
        }
        if (config.Bootstrap is { } bootstrap)
        {
            var password = Environment.GetEnvironmentVariable(bootstrap.PasswordEnv);
            if (string.IsNullOrEmpty(password)) throw new ConfigException($"bootstrap.password_env names {bootstrap.PasswordEnv}, which is not set");
            var identity = new IdentityStore(database);
            var project = await identity.EnsureProjectAsync(bootstrap.Project, ct).ConfigureAwait(false);
            await identity.EnsureUserAsync(project, bootstrap.User, password, ct).ConfigureAwait(false);
        }
    }
}
