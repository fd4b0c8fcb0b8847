using Npgsql;
using Trove.Guest.State;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Trove.Guest.Controller.Configuration;

/// <summary>The configuration is unusable: the message names the file, the line and the key.</summary>
public sealed class ConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads and checks the configuration file (snake_case keys, as OpenStack's own files have).</summary>
public static class ConfigLoader
{
    public static ControllerConfig Load(string? path)
    {
        if (path is null) return new ControllerConfig();
        if (!File.Exists(path)) throw new ConfigException($"configuration file {path} not found");
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        ControllerConfig config;
        try
        {
            config = deserializer.Deserialize<ControllerConfig?>(File.ReadAllText(path)) ?? new ControllerConfig();
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{path}, line {e.Start.Line}: {(e.InnerException ?? e).Message}", e);
        }
        Check(config, path);
        return config;
    }

    private static void Check(ControllerConfig config, string path)
    {
        if (config.State.Provider is not ("sqlite" or "postgres"))
            throw new ConfigException($"{path}: state.provider must be sqlite or postgres, not '{config.State.Provider}'");
        if (config.State.Provider == "postgres" && string.IsNullOrWhiteSpace(config.State.Connection))
            throw new ConfigException($"{path}: state.connection is required for postgres");
        if (config.Api.TokenLifetimeSeconds <= 0) throw new ConfigException($"{path}: api.token_lifetime_seconds must be positive");
        if (!Uri.TryCreate(config.Api.Listen, UriKind.Absolute, out _)) throw new ConfigException($"{path}: api.listen '{config.Api.Listen}' is not a URL");
        foreach (var flavor in config.Flavors)
        {
            if (flavor.Id.Length == 0 || flavor.Name.Length == 0 || flavor.Ram <= 0 || flavor.Vcpus <= 0 || flavor.Disk < 0)
                throw new ConfigException($"{path}: flavor '{flavor.Name}' needs an id, a name, ram > 0, vcpus > 0 and disk >= 0");
        }
        foreach (var datastore in config.Datastores)
        {
            if (datastore.Name.Length == 0 || datastore.Versions.Any(v => v.Name.Length == 0 || v.Manager.Length == 0))
                throw new ConfigException($"{path}: datastore '{datastore.Name}' needs a name, and each version a name and a manager");
        }
        var unknownRoles = config.Roles.Except(["api", "conductor", "worker"]).ToList();
        if (unknownRoles.Count > 0 || config.Roles.Count == 0)
            throw new ConfigException($"{path}: roles must be some of api, conductor, worker (not {string.Join(", ", unknownRoles)})");
        if (config.Worker.LeaseSeconds < 5) throw new ConfigException($"{path}: worker.lease_seconds must be at least 5");
        foreach (var duplicate in config.Flavors.GroupBy(f => f.Id).Where(g => g.Count() > 1))
            throw new ConfigException($"{path}: flavor id '{duplicate.Key}' is given twice");
    }

    /// <summary>The state database the configuration names; PostgreSQL's password is read from its environment variable here.</summary>
    public static StateDatabase Database(ControllerConfig config)
    {
        if (config.State.Provider == "sqlite") return StateDatabase.Sqlite(config.State.Path);
        var builder = new NpgsqlConnectionStringBuilder(config.State.Connection);
        if (config.State.PasswordEnv is { } variable)
            builder.Password = Environment.GetEnvironmentVariable(variable) ?? throw new ConfigException($"state.password_env names {variable}, which is not set");
        return StateDatabase.Postgres(builder.ConnectionString);
    }
}
