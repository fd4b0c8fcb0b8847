namespace Trove.Guest.TaskManager.Compute;

/// <summary>What the controller asks for when it creates a server for an instance.</summary>
/// <param name="Extra">
/// More agent settings, named <c>section.key</c> (<c>DEFAULT.storage_strategy</c>, <c>trove_guest.backup_local_dir</c>,
/// <c>oslo_messaging_rabbit.heartbeat_timeout_threshold</c>...): backups need the object store's settings. They are
/// written after the driver's own keys, so an extra key replaces the driver's value.
/// </param>
/// <param name="ImageId">The datastore version's image (Trove's <c>image_id</c>); drivers that boot images need it, others ignore it.</param>
public sealed record ServerRequest(string InstanceId, string DatastoreManager, string DatastoreVersion, int RamMb, int Vcpus, int VolumeSizeGb,
    string? RpcKey, string TransportUrl, string ControlExchange, string ConductorTopic, IReadOnlyDictionary<string, string>? Extra = null, string? ImageId = null);

/// <summary>
/// What a driver returns and later gets back: the controller stores it as JSON in <c>instances.compute_json</c>
/// (<see cref="ServerInfoJson"/>). <see cref="DevicePath"/> and <see cref="MountPoint"/> are what prepare and resize_fs
/// get as <c>device_path</c> and <c>mount_point</c>.
/// </summary>
public sealed record ServerInfo(string Driver, string InstanceId, string Directory, int? AgentPid, string? DevicePath, string MountPoint,
    string EngineAddress, int EnginePort, string VolumeFile, int VolumeSizeGb, int RamMb);

/// <summary>
/// Where guests run: the controller's seam to a compute service (Trove's nova + cinder calls). A server is an agent
/// with its configuration, a data volume and a memory size; the engine is the agent's business.
/// </summary>
public interface IComputeDriver
{
    string Name { get; }

    /// <summary>Allocates the volume, writes the agent's configuration and starts the agent; returns once the agent process runs (not when prepared).</summary>
    Task<ServerInfo> CreateAsync(ServerRequest request, CancellationToken ct);

    /// <summary>Grows the block device; the guest's resize_fs grows the file system afterwards.</summary>
    Task<ServerInfo> ResizeVolumeAsync(ServerInfo server, int newSizeGb, CancellationToken ct);

    /// <summary>Applies a new memory size (and CPU count where the driver can); the agent is restarted if needed.</summary>
    Task<ServerInfo> ResizeFlavorAsync(ServerInfo server, int ramMb, int vcpus, CancellationToken ct);

    /// <summary>After a controller restart: the agent still runs, or is started again (as a rebooted VM would start it).</summary>
    Task<ServerInfo> EnsureRunningAsync(ServerInfo server, CancellationToken ct);

    Task<bool> IsRunningAsync(ServerInfo server, CancellationToken ct);

    /// <summary>
    /// The URL a guest must use for a service the controller reaches at <paramref name="hostUrl"/> (the object store in a
    /// request's service catalog): the same for guests on the host's network, another address behind a VM's NAT.
    /// </summary>
    string GuestUrl(string hostUrl) => hostUrl;

    /// <summary>Stops agent and engine, releases the volume and removes everything the server had; idempotent.</summary>
    Task DeleteAsync(ServerInfo server, CancellationToken ct);
}

/// <summary>A compute operation that could not be done; the message names the command or file and what went wrong.</summary>
public sealed class ComputeDriverException(string message, Exception? inner = null) : Exception(message, inner);
