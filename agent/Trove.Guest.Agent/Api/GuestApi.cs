using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trove.Guest.Agent.Backups;
using Trove.Guest.Agent.Conductor;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.Managers.Mysql;
using Trove.Guest.Agent.Managers.Mysql.Replication;
using Trove.Guest.Agent.Models;
using Trove.Guest.Agent.Modules;
using Trove.Guest.Agent.Volumes;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Api;

/// <summary>
/// Trove's guest API (guest-contract §1) mapped onto the MySQL/MariaDB manager: method names and argument names
/// exactly as trove/guestagent/api.py sends them, at API version 1.1 (which also serves 1.0 requests).
/// </summary>
public sealed class GuestApi(AgentOptions options, MysqlManager manager, MysqlBackups backups, MysqlReplication replication, VolumeManager volumes,
    ModuleStore modules, ConductorClient conductor, ILogger<GuestApi> logger)
{
    public const string Version = "1.1";

    public RpcEndpoint Build()
    {
        var e = new RpcEndpoint(Version)
            .Map("rpc_ping", (_, _) => Json(true))
            .Map("prepare", (r, ct) => Notified(r, ct, true, () => manager.PrepareAsync(ReadPrepare(r.Arguments), r.Context, replication, ct)))
            .Map("create_backup", (r, ct) => Notified(r, ct, false,
                () => backups.CreateAsync(BackupRequest.FromJson(r.Arguments["backup_info"]), r.Context, manager.EnsureRunningAsync, ct)))
            .Map("restart", async (_, ct) => { await manager.RestartAsync(ct); return null; })
            .Map("rebuild", async (r, ct) => { await manager.RebuildAsync(Str(r, "config_contents"), r.Arguments["config_overrides"] as JsonObject, ct); return null; })
            .Map("stop_db", async (_, ct) => { await manager.StopDbAsync(ct); return null; })
            // memory_mb is ours (Trove renders my.cnf itself and sends config_contents): without config_contents, the guest
            // renders its own template for the new flavor's memory.
            .Map("start_db_with_conf_changes", async (r, ct) =>
            {
                await manager.StartWithConfChangesAsync(Str(r, "config_contents"), r.Arguments["memory_mb"] is JsonValue m && m.TryGetValue<int>(out var mb) ? mb : null,
                    Str(r, "ds_version"), ct);
                return null;
            })
            .Map("reset_configuration", (r, _) =>
            {
                manager.ResetConfiguration((r.Arguments["configuration"] as JsonObject)?["config_contents"]?.GetValue<string>());
                return Json(null);
            })
            .Map("update_overrides", (r, _) =>
            {
                manager.UpdateOverrides(r.Arguments["overrides"] as JsonObject, Bool(r, "remove"));
                return Json(null);
            })
            .Map("apply_overrides", async (r, ct) => { await manager.ApplyOverridesAsync(r.Arguments["overrides"] as JsonObject ?? [], ct); return null; })
            .Map("get_filesystem_stats", (_, _) => Json(FilesystemStats.For(options.Datastore.MountPoint)))
            .Map("mount_volume", async (r, ct) =>
            {
                await volumes.MountAsync(Required(r, "device_path"), Str(r, "mount_point") ?? options.Datastore.MountPoint, ct);
                return null;
            })
            .Map("unmount_volume", async (r, ct) => { await volumes.UnmountAsync(Str(r, "mount_point") ?? options.Datastore.MountPoint, ct); return null; })
            .Map("resize_fs", async (r, ct) =>
            {
                await volumes.ResizeAsync(Required(r, "device_path"), Str(r, "mount_point") ?? options.Datastore.MountPoint, Bool(r, "online"), ct);
                return null;
            })
            // databases
            .Map("create_database", (r, ct) => Notified(r, ct, false, () => manager.Admin.CreateDatabasesAsync(Databases(r, "databases"), ct)))
            .Map("list_databases", async (r, ct) =>
            {
                var (items, next) = await manager.Admin.ListDatabasesAsync(Limit(r), Str(r, "marker"), Bool(r, "include_marker"), ct);
                return Paged.ToJson(items, next, d => d.ToJson());
            })
            .Map("delete_database", (r, ct) => Notified(r, ct, false, () => manager.Admin.DeleteDatabaseAsync(MysqlDatabase.FromJson(r.Arguments["database"]).Name, ct)))
            // users
            .Map("create_user", (r, ct) => Notified(r, ct, false, () => manager.Admin.CreateUsersAsync(Users(r, "users"), ct)))
            .Map("list_users", async (r, ct) =>
            {
                var (items, next) = await manager.Admin.ListUsersAsync(Limit(r), Str(r, "marker"), Bool(r, "include_marker"), ct);
                return Paged.ToJson(items, next, u => u.ToJson());
            })
            .Map("get_user", async (r, ct) => (await manager.Admin.GetUserAsync(Required(r, "username"), Str(r, "hostname") ?? "%", ct))?.ToJson())
            .Map("delete_user", (r, ct) => Notified(r, ct, false, () =>
            {
                var user = MysqlUser.FromJson(r.Arguments["user"]);
                return manager.Admin.DeleteUserAsync(user.Name, user.Host, ct);
            }))
            .Map("change_passwords", (r, ct) => Notified(r, ct, false, () =>
                manager.Admin.ChangePasswordsAsync(Users(r, "users").Select(u => (u.Name, u.Host, u.Password ?? throw RpcFailureException.ValueError($"no password for {u.Name}"))).ToList(), ct)))
            .Map("update_attributes", (r, ct) => Notified(r, ct, false, () =>
            {
                var attrs = r.Arguments["user_attrs"] as JsonObject ?? [];
                return manager.Admin.UpdateAttributesAsync(Required(r, "username"), Str(r, "hostname") ?? "%",
                    MysqlDatabase.Str(attrs, "name"), MysqlDatabase.Str(attrs, "host"), MysqlDatabase.Str(attrs, "password"), ct);
            }))
            .Map("grant_access", async (r, ct) =>
            {
                var dbs = (r.Arguments["databases"] as JsonArray ?? []).Select(d => MysqlDatabase.FromJson(d).Name).ToList();
                await manager.Admin.GrantAccessAsync(Required(r, "username"), Str(r, "hostname") ?? "%", dbs, ct);
                return null;
            })
            .Map("revoke_access", async (r, ct) =>
            {
                await manager.Admin.RevokeAccessAsync(Required(r, "username"), Str(r, "hostname") ?? "%", MysqlDatabase.FromJson(r.Arguments["database"]).Name, ct);
                return null;
            })
            .Map("list_access", async (r, ct) =>
            {
                var dbs = await manager.Admin.ListAccessAsync(Required(r, "username"), Str(r, "hostname") ?? "%", ct);
                return new JsonArray(dbs.Select(d => (JsonNode?)d.ToJson()).ToArray());
            })
            // root
            .Map("enable_root", async (_, ct) => (await manager.EnableRootAsync(null, ct)).ToJson())
            .Map("enable_root_with_password", async (r, ct) => (await manager.EnableRootAsync(Str(r, "root_password"), ct)).ToJson())
            .Map("disable_root", async (_, ct) => (await manager.EnableRootAsync(null, ct)).ToJson())
            .Map("is_root_enabled", async (_, ct) => await manager.Admin.IsRootEnabledAsync(ct))
            .Map("get_root_password", (_, _) => throw new RpcFailureException("DatastoreOperationNotSupported", "trove.common.exception",
                $"The 'get_root_password' operation is not supported for the '{options.DatastoreManager}' datastore."))
            // guest logs and modules
            .Map("guest_log_list", (r, _) => Json(manager.GuestLogs.List(IsAdmin(r))))
            .Map("guest_log_action", async (r, ct) => await manager.GuestLogs.ActionAsync(Required(r, "log_name"),
                Bool(r, "enable"), Bool(r, "disable"), Bool(r, "publish"), Bool(r, "discard"), r.Context, ct))
            .Map("module_apply", (r, _) => Json(modules.Apply(r.Arguments["modules"] as JsonArray ?? throw RpcFailureException.TypeError("module_apply() argument 'modules' must be a list"))))
            .Map("module_list", (r, _) => Json(modules.List(Bool(r, "include_contents"), IsAdmin(r))))
            .Map("module_remove", (r, _) =>
            {
                modules.Remove(r.Arguments["module"] as JsonObject ?? throw RpcFailureException.TypeError("module_remove() argument 'module' must be an object"));
                return Json(null);
            })
            .Map("upgrade", (r, _) =>
            {
                // Native packages: the engine version is the image's. Same version: nothing to do; another: a new image.
                var wanted = (r.Arguments["upgrade_info"] as JsonObject)?["datastore_version"]?.GetValue<string>();
                if (wanted is null || wanted == options.DatastoreVersion) return Json(null);
                throw new RpcFailureException("GuestError", "trove.common.exception",
                    $"this guest runs {options.DatastoreManager} {options.DatastoreVersion} from the image's packages: upgrading to {wanted} means rebuilding the instance on a {wanted} image");
            })
            // replication (guest-contract §7)
            .Map("backup_required_for_replication", (_, _) => Json(true))
            .Map("get_replication_snapshot", async (r, ct) =>
                await replication.GetSnapshotAsync(r.Arguments["snapshot_info"], Str(r, "replica_source_config"), r.Context, ct))
            .Map("attach_replica", async (r, ct) =>
            {
                // Queens sends no 'restart'; Zed does.
                var restart = r.Arguments["restart"] is not JsonValue v || v.GetValueKind() != JsonValueKind.False;
                await replication.AttachAsync(r.Arguments["replica_info"], Str(r, "slave_config"), restart, ct);
                return null;
            })
            .Map("detach_replica", async (r, ct) => await replication.DetachAsync(Bool(r, "for_failover"), ct))
            .Map("get_replica_context", async (_, ct) => await replication.GetReplicaContextAsync(ct))
            .Map("make_read_only", async (r, ct) => { await replication.MakeReadOnlyAsync(Bool(r, "read_only"), ct); return null; })
            .Map("enable_as_master", async (r, ct) => { await replication.EnableAsSourceAsync(Str(r, "replica_source_config"), ct); return null; })
            .Map("demote_replication_master", async (_, ct) => { await replication.DemoteAsync(ct); return null; })
            .Map("get_last_txn", async (_, ct) => await replication.GetLastTxnAsync(ct))
            .Map("get_latest_txn_id", async (_, ct) => JsonValue.Create(await replication.GetLatestTxnIdAsync(ct)))
            .Map("wait_for_txn", async (r, ct) => { await replication.WaitForTxnAsync(Required(r, "txn"), ct); return null; })
            .Map("cleanup_source_on_replica_detach", async (r, ct) =>
            {
                await replication.CleanupSourceOnReplicaDetachAsync(r.Arguments["replica_info"], ct);
                return null;
            })
            .Map("pre_upgrade", (_, _) => Json(new JsonObject()))
            .Map("post_upgrade", (_, _) => Json(null));
        return e;
    }

    private static ValueTask<JsonNode?> Json(JsonNode? node) => ValueTask.FromResult(node);

    /// <summary>
    /// Trove's EndNotification: when the request context carries <c>trove_notification</c>, tell the conductor how
    /// the operation ended (notify_end, or notify_exc_info and the error goes on to the caller).
    /// </summary>
    private async ValueTask<JsonNode?> Notified(RpcRequest request, CancellationToken ct, bool addInstanceId, Func<Task> action)
    {
        var notification = request.Context["trove_notification"] as JsonObject;
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e) when (notification is not null)
        {
            await Quietly(() => conductor.NotifyErrorAsync(notification, e.Message, (e.StackTrace ?? "").Split('\n'), ct)).ConfigureAwait(false);
            throw;
        }
        if (notification is not null)
        {
            var payload = (JsonObject)notification.DeepClone();
            if (addInstanceId) payload["instance_id"] = options.GuestId;
            await Quietly(() => conductor.NotifyEndAsync(payload, ct)).ConfigureAwait(false);
        }
        return null;
    }

    private async Task Quietly(Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Notification to the conductor not sent: {Error}", e.Message);
        }
    }

    private PrepareRequest ReadPrepare(RpcArguments a) => new(
        Databases: (a["databases"] as JsonArray ?? []).Select(MysqlDatabase.FromJson).ToList(),
        Users: (a["users"] as JsonArray ?? []).Select(MysqlUser.FromJson).ToList(),
        DevicePath: StrArg(a, "device_path"),
        ConfigContents: StrArg(a, "config_contents"),
        RootPassword: StrArg(a, "root_password"),
        Overrides: a["overrides"] as JsonObject,
        Restore: RestoreRequest.FromJson(a["backup_info"]),
        Snapshot: a["snapshot"],
        DatastoreVersion: StrArg(a, "ds_version") ?? options.DatastoreVersion,
        MemoryMb: a["memory_mb"] is JsonValue m && m.TryGetValue<int>(out var mb) && mb > 0 ? mb : 1024);

    private static IReadOnlyList<MysqlDatabase> Databases(RpcRequest r, string name) =>
        (r.Arguments[name] as JsonArray ?? throw RpcFailureException.TypeError($"{r.Method}() argument '{name}' must be a list")).Select(MysqlDatabase.FromJson).ToList();

    private static IReadOnlyList<MysqlUser> Users(RpcRequest r, string name) =>
        (r.Arguments[name] as JsonArray ?? throw RpcFailureException.TypeError($"{r.Method}() argument '{name}' must be a list")).Select(MysqlUser.FromJson).ToList();

    private static string? StrArg(RpcArguments a, string name) => a[name].AsString();

    private static string? Str(RpcRequest r, string name) => StrArg(r.Arguments, name);

    private static string Required(RpcRequest r, string name) =>
        Str(r, name) ?? throw RpcFailureException.TypeError($"{r.Method}() missing 1 required positional argument: '{name}'");

    private static bool IsAdmin(RpcRequest r) => r.Context["is_admin"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static bool Bool(RpcRequest r, string name) => r.Arguments[name] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static int? Limit(RpcRequest r) =>
        r.Arguments["limit"] is JsonValue v && v.TryGetValue<int>(out var l) ? (l > 0 ? l : throw RpcFailureException.ValueError("limit must be positive")) : null;
}
