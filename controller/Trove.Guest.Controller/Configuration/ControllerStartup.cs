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
