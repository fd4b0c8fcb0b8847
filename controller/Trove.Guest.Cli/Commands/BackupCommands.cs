using System.CommandLine;
using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;
using Trove.Guest.Cli.Waiting;

namespace Trove.Guest.Cli.Commands;

/// <summary>troveclient's backup verbs: <c>backup-create</c>, <c>backup-list</c>, <c>backup-show</c>, <c>backup-delete</c>.</summary>
internal static class BackupCommands
{
    private static readonly Column[] ListColumns =
    [
        Column.Field("id"), Column.Field("instance_id"), Column.Field("name"), Column.Field("status"), Column.Field("parent_id"), Column.Field("updated"),
    ];

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        var instance = InstanceCommands.Instance();
        var name = new Argument<string>("name") { Description = "the backup's name" };
        var description = new Option<string?>("--description") { Description = "a description of the backup" };
        var parent = new Option<string?>("--parent") { Description = "id of the backup to make an incremental backup from" };
        var incremental = new Option<bool>("--incremental") { Description = "back up what changed since the last backup (a full one when there is none)" };
        var createWait = new WaitOptions();
        yield return build.Create("backup-create", "Back up an instance", [instance, name, description, parent, incremental, .. createWait.All],
            async (parse, s, ct) =>
            {
                var found = await s.Find.InstanceAsync(parse.GetValue(instance)!, ct).ConfigureAwait(false);
                var body = new JsonObject
                {
                    ["name"] = parse.GetValue(name), ["incremental"] = parse.GetValue(incremental) ? 1 : 0, ["instance"] = ResourceFinder.Id(found),
                };
                if (parse.GetValue(description) is { } text) body["description"] = text;
                if (parse.GetValue(parent) is { } parentId) body["parent_id"] = parentId;
                var created = await s.Api.SendAsync(HttpMethod.Post, "/backups", new JsonObject { ["backup"] = body }, ct).ConfigureAwait(false);
                var backup = created?["backup"] as JsonObject
                    ?? throw new CliFailure(ExitCodes.Unreachable, "ERROR: the API accepted the backup but did not return it");
                if (createWait.Waiter(parse, s.Io) is not { } waiter)
                {
                    await s.Print.ObjectAsync(backup, TroveViews.Object(backup)).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }
                var id = ResourceFinder.Id(backup);
                var result = await waiter.WaitAsync(WaitGoal.BackupCompleted(), ApiSession.Subject("backup", backup), c => s.BackupOrNullAsync(id, c), ct)
                    .ConfigureAwait(false);
                if (result.Last is { } last) await s.Print.ObjectAsync(last, TroveViews.Object(last)).ConfigureAwait(false);
                return result.ExitCode;
            });

        var ofInstance = new Option<string?>("--instance-id", "--instance_id") { Description = "only the backups of this instance (id or name)" };
        var ofDatastore = new Option<string?>("--datastore") { Description = "only the backups of this datastore (id or name)" };
        yield return build.Create("backup-list", "List backups", [ofInstance, ofDatastore], async (parse, s, ct) =>
        {
            var query = new List<string>();
            if (parse.GetValue(ofInstance) is { } nameOrId)
                query.Add("instance_id=" + PathSegment.Escape(ResourceFinder.Id(await s.Find.InstanceAsync(nameOrId, ct).ConfigureAwait(false))));
            if (parse.GetValue(ofDatastore) is { } datastore) query.Add("datastore=" + PathSegment.Escape(datastore));
            var backups = await s.Api.ListAsync("/backups" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), "backups", ct).ConfigureAwait(false);
            await s.Print.ListAsync(backups, ListColumns, orderBy: 5).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var shown = Backup();
        yield return build.Create("backup-show", "Show a backup", [shown], async (parse, s, ct) =>
        {
            var backup = await s.Find.BackupAsync(parse.GetValue(shown)!, ct).ConfigureAwait(false);
            await s.Print.ObjectAsync(backup, TroveViews.Object(backup)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var deleted = Backup();
        var deleteWait = new WaitOptions();
        yield return build.Create("backup-delete", "Delete a backup", [deleted, .. deleteWait.All], async (parse, s, ct) =>
        {
            var backup = await s.Find.BackupAsync(parse.GetValue(deleted)!, ct).ConfigureAwait(false);
            var id = ResourceFinder.Id(backup);
            await s.Api.SendAsync(HttpMethod.Delete, $"/backups/{PathSegment.Escape(id)}", null, ct).ConfigureAwait(false);
            if (deleteWait.Waiter(parse, s.Io) is not { } waiter) return ExitCodes.Ok;
            var result = await waiter.WaitAsync(WaitGoal.BackupGone(), ApiSession.Subject("backup", backup), c => s.BackupOrNullAsync(id, c), ct)
                .ConfigureAwait(false);
            if (result.Last is { } last) await s.Print.ObjectAsync(last, TroveViews.Object(last)).ConfigureAwait(false);
            return result.ExitCode;
        });
    }

    private static Argument<string> Backup() => new("backup") { Description = "the backup's id or name" };
}
