using System.CommandLine;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;

namespace Trove.Guest.Cli.Commands;

/// <summary>What can be created: <c>flavor-list</c>, <c>datastore-list</c>, <c>datastore-version-list</c>.</summary>
internal static class CatalogCommands
{
    private static readonly Column[] FlavorColumns =
    [
        // Trove shows a non-integer flavor id as "str_id" with "id": null; troveclient prints it as the id.
        new("ID", f => f["id"] is { } id && ResourceFinder.Text(id) is not null ? id : f["str_id"]),
        Column.Field("name"), Column.Field("ram", "RAM"), Column.Field("vcpus", "vCPUs"), Column.Field("disk", "Disk"), Column.Field("ephemeral"),
    ];

    private static readonly Column[] IdAndName = [Column.Field("id"), Column.Field("name")];

    public static IEnumerable<Command> Create(ApiCommandBuilder build)
    {
        var type = new Option<string?>("--datastore-type", "--datastore_type") { Description = "only flavors for this datastore (with --datastore-version-id)" };
        var versionId = new Option<string?>("--datastore-version-id", "--datastore_version_id") { Description = "only flavors for this datastore version" };
        yield return build.Create("flavor-list", "List flavors", [type, versionId], async (parse, s, ct) =>
        {
            var (datastore, version) = (parse.GetValue(type), parse.GetValue(versionId));
            if ((datastore is null) != (version is null))
                throw new CliFailure(ExitCodes.Usage, "--datastore-type and --datastore-version-id go together");
            var path = datastore is null ? "/flavors" : $"/datastores/{PathSegment.Escape(datastore)}/versions/{PathSegment.Escape(version!)}/flavors";
            await s.Print.ListAsync(await s.Api.ListAsync(path, "flavors", ct).ConfigureAwait(false), FlavorColumns, orderBy: 2).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        yield return build.Create("datastore-list", "List datastores", [], async (parse, s, ct) =>
        {
            await s.Print.ListAsync(await s.Api.ListAsync("/datastores", "datastores", ct).ConfigureAwait(false), IdAndName).ConfigureAwait(false);
            return ExitCodes.Ok;
        });

        var datastoreArgument = new Argument<string>("datastore") { Description = "the datastore's id or name" };
        yield return build.Create("datastore-version-list", "List the versions of a datastore", [datastoreArgument], async (parse, s, ct) =>
        {
            var versions = await s.Api.ListAsync($"/datastores/{PathSegment.Escape(parse.GetValue(datastoreArgument)!)}/versions", "versions", ct).ConfigureAwait(false);
            await s.Print.ListAsync(versions, IdAndName).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
    }
}
