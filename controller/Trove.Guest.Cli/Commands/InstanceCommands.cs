using System.CommandLine;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;
using Trove.Guest.Cli.Waiting;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// The instance verbs of troveclient's shell, with its arguments and flags (both spellings where it has two):
/// <c>create</c>, <c>list</c>, <c>show</c>, <c>delete</c>, <c>restart</c>, <c>resize-instance</c>, <c>resize-volume</c>,
/// and the replication actions <c>promote-to-replica-source</c>, <c>eject-replica-source</c>, <c>detach-replica</c>.
/// </summary>
internal static class InstanceCommands
{
    private static readonly Column[] ListColumns =
    [
        Column.Field("id"), Column.Field("name"), Column.Field("datastore"), Column.Field("datastore_version"), Column.Field("status"),
        Column.Field("flavor_id"), Column.Field("size"), Column.Field("region"),
    ];

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        yield return CreateCommand(build);
        yield return build.Create("list", "List the instances", [], async (parse, s, ct) =>
        {
            var instances = await s.Api.ListAsync("/instances", "instances", ct).ConfigureAwait(false);
            await s.Print.ListAsync(instances, ListColumns, row: TroveViews.InstanceRow).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var shown = Instance();
        yield return build.Create("show", "Show an instance", [shown], async (parse, s, ct) =>
        {
            var instance = await s.Find.InstanceAsync(parse.GetValue(shown)!, ct).ConfigureAwait(false);
            await s.Print.ObjectAsync(instance, TroveViews.Instance(instance)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        yield return DeleteCommand(build);

        var restarted = Instance();
        var restartWait = new WaitOptions();
        yield return build.Create("restart", "Restart an instance's database", [restarted, .. restartWait.All], (parse, s, ct) =>
            ActAsync(parse, s, restarted, restartWait, new JsonObject { ["restart"] = new JsonObject() }, "restart", ct));

        var resized = Instance();
        var flavor = new Argument<string>("flavor") { Description = "the new flavor's name or id" };
        var resizeWait = new WaitOptions();
        yield return build.Create("resize-instance", "Give an instance a new flavor", [resized, flavor, .. resizeWait.All], async (parse, s, ct) =>
        {
            var flavorRef = await s.Find.FlavorRefAsync(parse.GetValue(flavor)!, ct).ConfigureAwait(false);
            return await ActAsync(parse, s, resized, resizeWait, new JsonObject { ["resize"] = new JsonObject { ["flavorRef"] = flavorRef } },
                "resize", ct).ConfigureAwait(false);
        });

        var grown = Instance();
        var size = new Argument<int>("size") { Description = "the volume's new size in GB" };
        size.Validators.Add(r => { if (r.GetValueOrDefault<int>() <= 0) r.AddError("size must be a positive number of GB"); });
        var volumeWait = new WaitOptions();
        yield return build.Create("resize-volume", "Give an instance a larger volume", [grown, size, .. volumeWait.All], (parse, s, ct) =>
            ActAsync(parse, s, grown, volumeWait,
                new JsonObject { ["resize"] = new JsonObject { ["volume"] = new JsonObject { ["size"] = parse.GetValue(size) } } }, "resize", ct));

        var promoted = Instance();
        var promoteWait = new WaitOptions();
        yield return build.Create("promote-to-replica-source", "Promote a replica to be the source of its replication set",
            [promoted, .. promoteWait.All], (parse, s, ct) =>
                ActAsync(parse, s, promoted, promoteWait, new JsonObject { ["promote_to_replica_source"] = new JsonObject() }, "promote", ct));

        var ejected = Instance();
        var ejectWait = new WaitOptions();
        yield return build.Create("eject-replica-source", "Eject a failed replica source and elect a new one from its replicas",
            [ejected, .. ejectWait.All], (parse, s, ct) =>
                ActAsync(parse, s, ejected, ejectWait, new JsonObject { ["eject_replica_source"] = new JsonObject() }, "eject", ct));

        var detached = Instance();
        var detachWait = new WaitOptions();
        yield return build.Create("detach-replica", "Detach a replica from its replication source", [detached, .. detachWait.All], async (parse, s, ct) =>
        {
            var instance = await s.Find.InstanceAsync(parse.GetValue(detached)!, ct).ConfigureAwait(false);
            // As troveclient's update(detach_replica_source=True): PUT with replica_of set to null.
            await s.Api.SendAsync(HttpMethod.Put, $"/instances/{PathSegment.Escape(ResourceFinder.Id(instance))}",
                new JsonObject { ["instance"] = new JsonObject { ["replica_of"] = null } }, ct).ConfigureAwait(false);
            return await s.FinishInstanceAsync(detachWait.Waiter(parse, s.Io), WaitGoal.InstanceActive("detach"), instance, null, ct).ConfigureAwait(false);
        });
    }

    public static Argument<string> Instance() => new("instance") { Description = "the instance's id or name" };

    /// <summary>POST /instances/{id}/action, then (with --wait) follow the instance until it is ACTIVE again.</summary>
    private static async Task<int> ActAsync(ParseResult parse, ApiSession s, Argument<string> instanceArgument, WaitOptions wait, JsonObject action,
        string purpose, CancellationToken ct)
    {
        var instance = await s.Find.InstanceAsync(parse.GetValue(instanceArgument)!, ct).ConfigureAwait(false);
        await s.Api.SendAsync(HttpMethod.Post, $"/instances/{PathSegment.Escape(ResourceFinder.Id(instance))}/action", action, ct).ConfigureAwait(false);
        return await s.FinishInstanceAsync(wait.Waiter(parse, s.Io), WaitGoal.InstanceActive(purpose), instance, null, ct).ConfigureAwait(false);
    }

    private static Command CreateCommand(ApiCommandBuilder build)
    {
        var name = new Argument<string>("name") { Description = "the instance's name" };
        var flavor = new Argument<string>("flavor") { Description = "a flavor name or id" };
        var size = new Option<int?>("--size") { Description = "size of the data volume in GB" };
        size.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is <= 0) r.AddError("--size must be a positive number of GB"); });
        var volumeType = new Option<string?>("--volume-type", "--volume_type") { Description = "the volume's type" };
        var databases = new Option<string[]>("--databases") { Description = "databases to create", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
        var users = new Option<string[]>("--users")
        {
            Description = "users to create, as user:password (they get every database of --databases)", AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        users.Validators.Add(r =>
        {
            foreach (var user in r.GetValueOrDefault<string[]>() ?? [])
                if (user.Split(':') is not [{ Length: > 0 }, _, ..]) r.AddError($"--users takes user:password, not '{user}'");
        });
        var backup = new Option<string?>("--backup") { Description = "restore this backup (name or id)" };
        var zone = new Option<string?>("--availability-zone", "--availability_zone") { Description = "the zone hint for the compute service" };
        var datastore = new Option<string?>("--datastore") { Description = "a datastore name or id" };
        var version = new Option<string?>("--datastore-version", "--datastore_version") { Description = "a datastore version name or id" };
        var configuration = new Option<string?>("--configuration") { Description = "id of the configuration group to attach" };
        var replicaOf = new Option<string?>("--replica-of", "--replica_of") { Description = "create a replica of this instance (id or name)" };
        var replicaCount = new Option<int?>("--replica-count", "--replica_count") { Description = "how many replicas (1 with --replica-of)" };
        var locality = new Option<string?>("--locality") { Description = "affinity or anti-affinity of the replicas" };
        locality.AcceptOnlyFromAmong("affinity", "anti-affinity");
        var region = new Option<string?>("--region") { Description = "the region to create the instance in" };
        var wait = new WaitOptions();
        return build.Create("create", "Create an instance",
            [name, flavor, size, volumeType, databases, users, backup, zone, datastore, version, configuration, replicaOf, replicaCount, locality, region, .. wait.All],
            async (parse, s, ct) =>
            {
                var body = new JsonObject { ["name"] = parse.GetValue(name) };
                body["flavorRef"] = await s.Find.FlavorRefAsync(parse.GetValue(flavor)!, ct).ConfigureAwait(false);
                if (parse.GetValue(size) is { } gb) body["volume"] = new JsonObject { ["size"] = gb, ["type"] = parse.GetValue(volumeType) };
                var databaseList = (parse.GetValue(databases) ?? []).Select(d => new JsonObject { ["name"] = d }).ToList();
                if (databaseList.Count > 0) body["databases"] = new JsonArray([.. databaseList]);
                var userList = (parse.GetValue(users) ?? []).Select(u => u.Split(':')).Select(p => new JsonObject
                {
                    ["name"] = p[0], ["password"] = p[1], ["databases"] = new JsonArray([.. databaseList.Select(d => d.DeepClone())]),
                }).ToList();
                if (userList.Count > 0) body["users"] = new JsonArray([.. userList]);
                if (parse.GetValue(backup) is { } backupName)
                    body["restorePoint"] = new JsonObject { ["backupRef"] = ResourceFinder.Id(await s.Find.BackupAsync(backupName, ct).ConfigureAwait(false)) };
                if (parse.GetValue(zone) is { } az) body["availability_zone"] = az;
                var store = new JsonObject();
                if (parse.GetValue(datastore) is { } type) store["type"] = type;
                if (parse.GetValue(version) is { } v) store["version"] = v;
                if (store.Count > 0) body["datastore"] = store;
                if (parse.GetValue(configuration) is { } config) body["configuration"] = config;
                var count = parse.GetValue(replicaCount);
                if (parse.GetValue(replicaOf) is { } source)
                {
                    if (parse.GetValue(locality) is not null)
                        throw new CliFailure(ExitCodes.Usage, "Cannot specify locality when adding replicas to existing master.");
                    body["replica_of"] = ResourceFinder.Id(await s.Find.InstanceAsync(source, ct).ConfigureAwait(false));
                    count ??= 1;
                }
                if (count is { } replicas) body["replica_count"] = replicas;
                if (parse.GetValue(locality) is { } policy) body["locality"] = policy;
                if (parse.GetValue(region) is { } regionName) body["region_name"] = regionName;

                var created = await s.Api.SendAsync(HttpMethod.Post, "/instances", new JsonObject { ["instance"] = body }, ct).ConfigureAwait(false);
                var instance = created?["instance"] as JsonObject
                    ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API accepted the instance but did not return it");
                var waiter = wait.Waiter(parse, s.Io);
                return await s.FinishInstanceAsync(waiter, WaitGoal.InstanceActive("create"), instance, instance, ct).ConfigureAwait(false);
            });
    }

    private static Command DeleteCommand(ApiCommandBuilder build)
    {
        var instances = new Argument<string[]>("instance") { Description = "ids or names of the instances", Arity = ArgumentArity.OneOrMore };
        var wait = new WaitOptions();
        return build.Create("delete", "Delete instances", [instances, .. wait.All], async (parse, s, ct) =>
        {
            // As troveclient's do_action_on_many: every instance is tried; the first failure's code is the command's.
            var code = ExitCodes.Ok;
            foreach (var nameOrId in parse.GetValue(instances)!)
            {
                try
                {
                    var instance = await s.Find.InstanceAsync(nameOrId, ct).ConfigureAwait(false);
                    var id = ResourceFinder.Id(instance);
                    await s.Api.SendAsync(HttpMethod.Delete, $"/instances/{PathSegment.Escape(id)}", null, ct).ConfigureAwait(false);
                    await s.Print.MessageAsync($"Request to delete instance {nameOrId} has been accepted.").ConfigureAwait(false);
                    var done = await s.FinishInstanceAsync(wait.Waiter(parse, s.Io), WaitGoal.InstanceGone(), instance, null, ct).ConfigureAwait(false);
                    if (code == ExitCodes.Ok) code = done;
                }
                catch (CliFailure failure) when (failure.ExitCode is ExitCodes.ApiRefused)
                {
                    await s.Io.Err.WriteLineAsync(failure.Message).ConfigureAwait(false);
                    if (code == ExitCodes.Ok) code = failure.ExitCode;
                }
            }
            return code;
        });
    }
}
