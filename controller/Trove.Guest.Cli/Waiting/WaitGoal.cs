using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Waiting;

/// <summary>
/// When a <c>--wait</c> is over: the statuses that mean done, those that mean failed (exit 2), or (<see cref="UntilGone"/>)
/// when the resource answers 404. Statuses are Trove's (<c>InstanceStatus</c>, <c>BackupState</c>), compared without case.
/// </summary>
internal sealed record WaitGoal(string Noun, string Purpose, IReadOnlySet<string> Done, IReadOnlySet<string> Failed, bool UntilGone = false)
{
    private static readonly StringComparer Case = StringComparer.OrdinalIgnoreCase;

    /// <summary>After create, restart, resize, promote, eject, detach: the instance serves again.</summary>
    public static WaitGoal InstanceActive(string purpose) =>
        new("instance", purpose, new HashSet<string>(["ACTIVE", "HEALTHY"], Case), new HashSet<string>(["ERROR", "FAILED"], Case));

    /// <summary>
    /// After kick-start's create: the task is over and the guest reports its database healthy. Its poll shows an ACTIVE
    /// instance's status as <c>ACTIVE/&lt;operating_status&gt;</c> (<see cref="WithOperatingStatus"/>), so that ACTIVE alone is not done.
    /// </summary>
    public static WaitGoal InstanceHealthy() =>
        new("instance", "create", new HashSet<string>(["ACTIVE/HEALTHY"], Case), new HashSet<string>(["ERROR", "FAILED"], Case));

    /// <summary>The instance as <see cref="InstanceHealthy"/> watches it: an ACTIVE one's status joined with its operating status.</summary>
    public static JsonObject? WithOperatingStatus(JsonObject? instance)
    {
        if (instance is null || !string.Equals(Output.ResourcePrinter.Cell(instance["status"]), "ACTIVE", StringComparison.OrdinalIgnoreCase)) return instance;
        var watched = (JsonObject)instance.DeepClone();
        watched["status"] = $"ACTIVE/{Output.ResourcePrinter.Cell(instance["operating_status"])}";
        return watched;
    }

    /// <summary>After delete: the instance is gone; an instance that falls into ERROR did not delete.</summary>
    public static WaitGoal InstanceGone() =>
        new("instance", "delete", new HashSet<string>(Case), new HashSet<string>(["ERROR", "FAILED"], Case), UntilGone: true);

    public static WaitGoal BackupCompleted() =>
        new("backup", "backup", new HashSet<string>(["COMPLETED"], Case), new HashSet<string>(["FAILED", "DELETE_FAILED"], Case));

    public static WaitGoal BackupGone() =>
        new("backup", "delete", new HashSet<string>(Case), new HashSet<string>(["DELETE_FAILED"], Case), UntilGone: true);
}
