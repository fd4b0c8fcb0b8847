using System.Data.Common;

namespace Trove.Guest.State.Tasks;

/// <summary>
/// A flow's durable record: which flow (<see cref="Kind"/>), on which instance, the step it reached and what it needs to go on
/// (<see cref="PayloadJson"/>). A controller that starts finds the unfinished ones and resumes or fails each.
/// </summary>
public sealed record TaskRecord(string Id, string? InstanceId, string Kind, string State, string Step, string PayloadJson, string? Error, long StartedAt, long UpdatedAt);

public static class TaskState
{
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
}

public sealed class TaskStore(StateDatabase database, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private const string Columns = "id, instance_id, kind, state, step, payload_json, error, started_at, updated_at";

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Records a new task; with an <paramref name="owner"/> it is claimed by that worker until <paramref name="leaseUntil"/>, else queued for any worker.</summary>
    public async Task<TaskRecord> StartAsync(string? instanceId, string kind, string step, string payloadJson, CancellationToken ct, string? owner = null,
        long? leaseUntil = null)
    {
        var now = Now;
        var task = new TaskRecord(Guid.NewGuid().ToString(), instanceId, kind, TaskState.Running, step, payloadJson, null, now, now);
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, $"""
            INSERT INTO tasks ({Columns}, owner, lease_until) VALUES (@id, @instance, @kind, @state, @step, @payload, NULL, @now, @now, @owner, @lease)
            """, ct, ("@id", task.Id), ("@instance", Sql.Nullable(instanceId)), ("@kind", kind), ("@state", task.State), ("@step", step), ("@payload", payloadJson),
            ("@now", now), ("@owner", Sql.Nullable(owner)), ("@lease", Sql.Nullable(leaseUntil))).ConfigureAwait(false);
        return task;
    }

    /// <summary>
    /// Claims, for <paramref name="owner"/>, every running task that no worker holds (queued, or its lease ran out) and
    /// returns them. Each claim is one conditional update, so two workers never take the same task.
    /// </summary>
    public async Task<IReadOnlyList<TaskRecord>> ClaimAsync(string owner, long leaseUntil, CancellationToken ct)
    {
        var now = Now;
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        var candidates = await Sql.QueryAsync(connection, null,
            $"SELECT {Columns} FROM tasks WHERE state = 'running' AND (owner IS NULL OR lease_until < @now) ORDER BY started_at", Read, ct, ("@now", now))
            .ConfigureAwait(false);
        var claimed = new List<TaskRecord>();
        foreach (var task in candidates)
        {
            var won = await Sql.ExecuteAsync(connection, null, """
                UPDATE tasks SET owner = @owner, lease_until = @lease WHERE id = @id AND state = 'running' AND (owner IS NULL OR lease_until < @now)
                """, ct, ("@owner", owner), ("@lease", leaseUntil), ("@id", task.Id), ("@now", now)).ConfigureAwait(false);
            if (won == 1) claimed.Add(task);
        }
        return claimed;
    }

    /// <summary>Extends the lease of every running task <paramref name="owner"/> holds.</summary>
    public async Task RenewAsync(string owner, long leaseUntil, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE tasks SET lease_until = @lease WHERE owner = @owner AND state = 'running'", ct,
            ("@lease", leaseUntil), ("@owner", owner)).ConfigureAwait(false);
    }

    /// <summary>Gives a task back (a worker that stops): another worker may claim it at once.</summary>
    public async Task ReleaseAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE tasks SET owner = NULL, lease_until = NULL WHERE id = @id AND state = 'running'", ct, ("@id", id))
            .ConfigureAwait(false);
    }

    /// <summary>Records that the flow reached <paramref name="step"/> (and, when given, what it learned on the way).</summary>
    public async Task StepAsync(string id, string step, CancellationToken ct, string? payloadJson = null)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        if (payloadJson is null)
            await Sql.ExecuteAsync(connection, null, "UPDATE tasks SET step = @step, updated_at = @now WHERE id = @id", ct, ("@step", step), ("@now", Now), ("@id", id))
                .ConfigureAwait(false);
        else
            await Sql.ExecuteAsync(connection, null, "UPDATE tasks SET step = @step, payload_json = @payload, updated_at = @now WHERE id = @id", ct,
                ("@step", step), ("@payload", payloadJson), ("@now", Now), ("@id", id)).ConfigureAwait(false);
    }

    public async Task FinishAsync(string id, string? error, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, null, "UPDATE tasks SET state = @state, error = @error, updated_at = @now WHERE id = @id", ct,
            ("@state", error is null ? TaskState.Done : TaskState.Failed), ("@error", Sql.Nullable(error)), ("@now", Now), ("@id", id)).ConfigureAwait(false);
    }

    public async Task<TaskRecord?> GetAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return (await Sql.QueryAsync(connection, null, $"SELECT {Columns} FROM tasks WHERE id = @id", Read, ct, ("@id", id)).ConfigureAwait(false)).FirstOrDefault();
    }

    /// <summary>Tasks still marked running: after a restart, those a previous controller left unfinished.</summary>
    public async Task<IReadOnlyList<TaskRecord>> UnfinishedAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, $"SELECT {Columns} FROM tasks WHERE state = 'running' ORDER BY started_at", Read, ct).ConfigureAwait(false);
    }

    /// <summary>An instance's tasks, newest first.</summary>
    public async Task<IReadOnlyList<TaskRecord>> ForInstanceAsync(string instanceId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct).ConfigureAwait(false);
        return await Sql.QueryAsync(connection, null, $"SELECT {Columns} FROM tasks WHERE instance_id = @instance ORDER BY started_at DESC", Read, ct,
            ("@instance", instanceId)).ConfigureAwait(false);
    }

    private static TaskRecord Read(DbDataReader r) => new(r.GetString(0), Sql.String(r, 1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        Sql.String(r, 6), Sql.Long(r, 7) ?? 0, Sql.Long(r, 8) ?? 0);
}
