using System.Text.Json.Nodes;

namespace Trove.Guest.Cli.Waiting;

/// <summary>How a <c>--wait</c> ended: the exit code (0, 2 or 5) and the resource as last seen (null once gone).</summary>
internal sealed record WaitResult(int ExitCode, JsonObject? Last);
