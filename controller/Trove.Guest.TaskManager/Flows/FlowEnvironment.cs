using Microsoft.Extensions.Logging;
using Trove.Guest.State.Backups;
using Trove.Guest.State.Catalog;
using Trove.Guest.State.Instances;
using Trove.Guest.State.Notifications;
using Trove.Guest.State.Tasks;
using Trove.Guest.TaskManager.Backups;
using Trove.Guest.TaskManager.Compute;
using Trove.Guest.TaskManager.Guests;

namespace Trove.Guest.TaskManager.Flows;

/// <summary>The settings flows need besides the state: where guests find the broker, and how long guests may take.</summary>
public sealed record FlowSettings
{
    public required string TransportUrl { get; init; }
    public string ControlExchange { get; init; } = "trove";
    public string ConductorTopic { get; init; } = "trove-conductor";

    /// <summary>Our <c>templates/</c> folder (replication overrides are rendered from it).</summary>
    public required string TemplatesDir { get; init; }

    /// <summary>Give each guest its own RPC key (Trove's <c>instance_rpc_encr_key</c>).</summary>
    public bool EncryptGuestRpc { get; init; } = true;

    /// <summary>Trove's <c>usage_timeout</c>: how long a new guest may take to come up.</summary>
    public TimeSpan UsageTimeout { get; init; } = TimeSpan.FromSeconds(1800);

    /// <summary>How long a guest may take to report the end of a cast (users and databases after prepare, a backup).</summary>
    public TimeSpan BackupTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary>How long a restart or resize may take until the guest reports healthy again.</summary>
    public TimeSpan ActiveTimeout { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>Guest configuration every server gets (e.g. <c>DEFAULT.storage_strategy</c>), as "section.key" → value.</summary>
    public IReadOnlyDictionary<string, string> GuestConfig { get; init; } = new Dictionary<string, string>();
}

/// <summary>Everything a flow works with: the stores, the guests, the compute driver, what guests reported.</summary>
public sealed class FlowEnvironment
{
    public required FlowSettings Settings { get; init; }
    public required InstanceStore Instances { get; init; }
    public required BackupStore Backups { get; init; }
    public required TaskStore Tasks { get; init; }
    public required NotificationStore Notifications { get; init; }
    public required FlavorStore Flavors { get; init; }
    public required DatastoreStore Datastores { get; init; }
    public required GuestClients Guests { get; init; }
    public required IComputeDriver Compute { get; init; }
    /// <summary>What guests reported, as the conductor stored it.</summary>
    public required StoredGuestReports Reports { get; init; }
    public ObjectStoreContext? ObjectStore { get; init; }
    public required ILoggerFactory Loggers { get; init; }
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The guest of an instance, with a request context for casts that the guest ends with a notification.</summary>
    public GuestClient GuestOf(InstanceRecord instance) => Guests.For(instance.Id, instance.RpcKey);
}
