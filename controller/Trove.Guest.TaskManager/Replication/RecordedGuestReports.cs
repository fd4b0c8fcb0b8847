using System.Text.Json.Nodes;

namespace Trove.Guest.TaskManager.Replication;

/// <summary>
/// <see cref="IGuestReports"/> over conductor messages kept as they arrived (method and arguments, Trove's shapes):
/// for a control plane in one process, tests and benchmarks. A store-backed controller answers from its database.
/// </summary>
public sealed class RecordedGuestReports(Func<IEnumerable<(string Method, JsonObject Args)>> received) : IGuestReports
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    public async Task<CompletedBackup> WaitForBackupAsync(string backupId, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var final = received().FirstOrDefault(r => r.Method == "update_backup" && Str(r.Args, "backup_id") == backupId
                && Str(r.Args, "state") is "COMPLETED" or "FAILED");
            if (final.Method is not null)
            {
                if (Str(final.Args, "state") != "COMPLETED") throw new InvalidOperationException($"backup {backupId} failed: {Str(final.Args, "note")}");
                return new CompletedBackup(backupId, Str(final.Args, "location") ?? throw new InvalidDataException($"backup {backupId} has no location"),
                    Str(final.Args, "checksum") ?? "", Str(final.Args, "backup_type") ?? "full");
            }
            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
        throw new TimeoutException($"backup {backupId} was not reported in {timeout.TotalSeconds} s");
    }

    /// <summary>The first heartbeat after the last <c>building</c> one is prepare's final status.</summary>
    public async Task<string> WaitForPrepareEndAsync(string instanceId, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var statuses = received().Where(r => r.Method == "heartbeat" && Str(r.Args, "instance_id") == instanceId)
                .Select(r => r.Args["payload"]?["service_status"]?.GetValue<string>()).ToList();
            var building = statuses.LastIndexOf("building");
            if (building >= 0 && building < statuses.Count - 1) return statuses[building + 1] ?? "";
            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
        throw new TimeoutException($"{instanceId} did not end prepare in {timeout.TotalSeconds} s");
    }

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
