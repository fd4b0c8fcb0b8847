using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.TaskManager.Configurations;

/// <summary>What a configuration change did on the guest: whether the server needs a restart, and what was set live.</summary>
public sealed record ConfigurationChange(bool RestartRequired, JsonObject AppliedLive);

/// <summary>
/// Puts a configuration group on an instance and takes it off again, over the guest's RPC API, as Trove's instance
/// model does (trove/instance/models.py <c>save_configuration</c>/<c>apply_configuration</c> and
/// <c>delete_configuration</c>/<c>reset_configuration</c>):
/// <list type="bullet">
/// <item>attach: <c>update_overrides(values, remove=false)</c> writes the guest's override file; the attachment is
/// recorded once that succeeded; the dynamic parameters are then set live with <c>apply_overrides</c>, and when any
/// parameter needs a restart the instance shows <c>restart required</c> (the guest reports the same).</item>
/// <item>detach: <c>update_overrides({}, remove=true)</c> removes the file (Trove sends an empty dict: the guest
/// removes, then merges what it was given); the attachment is cleared; when no detached parameter needs a restart
/// and the server's template has a default for each, those defaults are set live, otherwise the instance shows
/// <c>restart required</c>.</item>
/// </list>
/// Unlike Trove, whose attach sets nothing live when one parameter needs a restart, the dynamic ones take effect
/// at once and the restart is needed only for the others.
/// </summary>
public sealed class ConfigurationAttachment(ConfigurationRules rules, InstanceStore instances, DatastoreStore datastores, FlavorStore flavors,
    ILogger<ConfigurationAttachment>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<ConfigurationAttachment>.Instance;

    /// <summary>
    /// Attaches <paramref name="configurationId"/> with its <paramref name="values"/> (from <c>ConfigurationStore</c>).
    /// With <paramref name="replace"/> the guest first drops the values it had (a group's values replaced by PUT);
    /// Trove merges, which leaves removed parameters in the guest's file.
    /// </summary>
    public async Task<ConfigurationChange> AttachAsync(InstanceRecord instance, string configurationId, JsonObject values, GuestClient guest,
        CancellationToken ct, bool replace = false)
    {
        var parameters = await ParametersOfAsync(instance, ct).ConfigureAwait(false);
        _logger.LogInformation("Attaching configuration {Configuration} to instance {Instance}", configurationId, instance.Id);
        await guest.UpdateOverridesAsync(values, remove: replace, ct).ConfigureAwait(false);
        // The guest has persisted the values: they are the instance's from now on, whatever happens live.
        await instances.SetConfigurationAsync(instance.Id, configurationId, ct).ConfigureAwait(false);

        var live = new JsonObject();
        var restartRequired = false;
        foreach (var (name, value) in values)
        {
            // A name the rules no longer know (the rules file changed since the group was stored) is left to a restart.
            if (parameters.Find(name) is { RestartRequired: false }) live[name] = value?.DeepClone();
            else restartRequired = true;
        }
        await ApplyLiveAsync(instance, guest, live, restartRequired, ct).ConfigureAwait(false);
        return new ConfigurationChange(restartRequired, live);
    }

    /// <summary>Detaches the instance's group, whose <paramref name="values"/> were set on it.</summary>
    public async Task<ConfigurationChange> DetachAsync(InstanceRecord instance, JsonObject values, GuestClient guest, CancellationToken ct)
    {
        var version = await VersionOfAsync(instance, ct).ConfigureAwait(false);
        var parameters = rules.For(version.Manager);
        _logger.LogInformation("Detaching configuration {Configuration} from instance {Instance}", instance.ConfigurationId, instance.Id);
        await guest.UpdateOverridesAsync([], remove: true, ct).ConfigureAwait(false);
        await instances.SetConfigurationAsync(instance.Id, null, ct).ConfigureAwait(false);
        if (values.Count == 0) return new ConfigurationChange(false, []);

        var ramMb = (await flavors.ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(f => f.Id == instance.FlavorId)?.RamMb;
        var defaults = ramMb is { } ram ? ConfigurationDefaults.Render(rules.TemplatesDir, version.Manager, ram, parameters) : new Dictionary<string, JsonNode?>();
        var live = new JsonObject();
        var restartRequired = false;
        foreach (var (name, _) in values)
        {
            var canonical = parameters.Find(name)?.Name ?? name;
            if (parameters.Find(name) is { RestartRequired: false } && defaults.TryGetValue(canonical, out var fallback)) live[canonical] = fallback?.DeepClone();
            else restartRequired = true;
        }
        // As Trove: all back live, or nothing live and a restart (a half-reset server matches neither the group nor the defaults).
        if (restartRequired) live = [];
        await ApplyLiveAsync(instance, guest, live, restartRequired, ct).ConfigureAwait(false);
        return new ConfigurationChange(restartRequired, live);
    }

    /// <summary>The parameters of the instance's datastore version (by its manager: <c>mariadb</c>, <c>mysql</c>).</summary>
    public async Task<DatastoreParameters> ParametersOfAsync(InstanceRecord instance, CancellationToken ct) =>
        rules.For((await VersionOfAsync(instance, ct).ConfigureAwait(false)).Manager);

    private async Task ApplyLiveAsync(InstanceRecord instance, GuestClient guest, JsonObject live, bool restartRequired, CancellationToken ct)
    {
        if (live.Count > 0)
        {
            try
            {
                await guest.ApplyOverridesAsync(live, ct).ConfigureAwait(false);
            }
            catch
            {
                // The values are in the guest's file but not in the running server: a restart brings them in.
                await instances.SetServiceStatusAsync(instance.Id, InstanceServiceStatus.RestartRequired, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
        if (restartRequired) await instances.SetServiceStatusAsync(instance.Id, InstanceServiceStatus.RestartRequired, ct).ConfigureAwait(false);
    }

    private async Task<DatastoreVersion> VersionOfAsync(InstanceRecord instance, CancellationToken ct) =>
        (await datastores.ListAsync(ct).ConfigureAwait(false)).SelectMany(d => d.Versions).FirstOrDefault(v => v.Id == instance.DatastoreVersionId)
        ?? throw new InvalidOperationException($"instance {instance.Id}: datastore version {instance.DatastoreVersionId} does not exist");
}
