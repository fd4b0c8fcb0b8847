using System.Text.Json.Nodes;
using Trove.Guest.Cli.Api;
using Trove.Guest.Cli.Output;
using Trove.Guest.Cli.Waiting;

namespace Trove.Guest.Cli.Commands;

/// <summary>What an API command works with: the logged-in API, name lookup, the printer, and its environment.</summary>
internal sealed class ApiSession(TroveApiClient api, ResourcePrinter print, CliEnvironment io)
{
    public TroveApiClient Api { get; } = api;
    public ResourceFinder Find { get; } = new(api);
    public ResourcePrinter Print { get; } = print;
    public CliEnvironment Io { get; } = io;

    /// <summary>Shows an instance by id for a wait; null once it is gone.</summary>
    public async Task<JsonObject?> InstanceOrNullAsync(string id, CancellationToken ct) =>
        (await Api.GetOrNullAsync($"/instances/{PathSegment.Escape(id)}", ct).ConfigureAwait(false))?["instance"] as JsonObject;

    public async Task<JsonObject?> BackupOrNullAsync(string id, CancellationToken ct) =>
        (await Api.GetOrNullAsync($"/backups/{PathSegment.Escape(id)}", ct).ConfigureAwait(false))?["backup"] as JsonObject;

    /// <summary>
    /// After an instance action: without a waiter, <paramref name="started"/> (if any) is printed; with one, the instance is
    /// followed to <paramref name="goal"/> and printed as last seen. Returns the exit code.
    /// </summary>
    public async Task<int> FinishInstanceAsync(StatusWaiter? waiter, WaitGoal goal, JsonObject instance, JsonObject? started, CancellationToken ct)
    {
        if (waiter is null)
        {
            if (started is not null) await Print.ObjectAsync(started, TroveViews.Instance(started)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        var id = ResourceFinder.Id(instance);
        var result = await waiter.WaitAsync(goal, Subject("instance", instance), c => InstanceOrNullAsync(id, c), ct).ConfigureAwait(false);
        if (result.Last is { } last) await Print.ObjectAsync(last, TroveViews.Instance(last)).ConfigureAwait(false);
        return result.ExitCode;
    }

    /// <summary>"instance db1 (0f1e...)" for progress lines.</summary>
    public static string Subject(string noun, JsonObject resource)
    {
        var name = ResourceFinder.Text(resource["name"]);
        var id = ResourceFinder.Text(resource["id"]);
        return name is null || name == id ? $"{noun} {id}" : $"{noun} {name} ({id})";
    }
}
