using System.Text.Json;
using System.Text.Json.Nodes;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Controller.Conductor;

/// <summary>A guest report the conductor drops: it is logged, and nothing of it is saved.</summary>
public sealed class RefusedReportException(string message) : Exception(message);

/// <summary>
/// A guest report's arguments, read leniently where Trove is lenient and refused (<see cref="RefusedReportException"/>)
/// where Trove's conductor would raise: guests' casts come from outside, so nothing here trusts a type or a size.
/// </summary>
public sealed class ReportArguments(RpcRequest request)
{
    /// <summary>Longest text quoted back in a log line: a report's strings are the guest's, of any length.</summary>
    private const int QuoteLimit = 80;

    /// <summary>
    /// The instance whose key decrypted the report (<see cref="ConductorHostSerializer"/> puts it in the context);
    /// null for a report in plain text, whose sender nothing proves.
    /// </summary>
    public string? AuthenticatedInstance { get; } = request.Context[ConductorHostSerializer.InstanceIdContextKey].AsString();

    /// <summary>An argument as it came, for the few that are only looked at.</summary>
    public JsonNode? Raw(string name) => request.Arguments[name];

    public string RequiredString(string name) =>
        OptionalString(name) ?? throw new RefusedReportException($"'{name}' is missing");

    /// <summary>The text of an argument; null when it is absent or JSON null; refused when it is anything but text.</summary>
    public string? OptionalString(string name) => StringIn(request.Arguments.Values, name);

    public double? OptionalNumber(string name) => request.Arguments[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number =>
            v.TryGetValue<double>(out var number) && double.IsFinite(number) ? number : throw new RefusedReportException($"'{name}' is out of range"),
        var other => throw new RefusedReportException($"'{name}' is {Describe(other)}, not a number"),
    };

    public JsonObject RequiredObject(string name) => request.Arguments[name] switch
    {
        JsonObject o => o,
        null => throw new RefusedReportException($"'{name}' is missing"),
        var other => throw new RefusedReportException($"'{name}' is {Describe(other)}, not an object"),
    };

    /// <summary>
    /// The guest's <c>sent</c> (float epoch seconds with microseconds) in whole microseconds, the unit the store orders
    /// by; null when the guest sent none (Trove accepts such a report and logs it).
    /// </summary>
    public long? SentMicros()
    {
        if (OptionalNumber("sent") is not { } seconds) return null;
        if (!double.IsFinite(seconds) || seconds < 0 || seconds > 1e11)
            throw new RefusedReportException($"'sent' is not a time: {seconds}");
        return (long)Math.Round(seconds * 1_000_000);
    }

    /// <summary>
    /// The <c>instance_id</c> the report is about. A report decrypted with one instance's key may only speak for that
    /// instance (Trove does not check; a guest never does otherwise).
    /// </summary>
    public string InstanceId() => CheckSender(RequiredString("instance_id"));

    public string CheckSender(string instanceId) =>
        AuthenticatedInstance is null || AuthenticatedInstance == instanceId
            ? instanceId
            : throw new RefusedReportException($"instance {AuthenticatedInstance} reported for another instance, {Quote(instanceId)}");

    public static string? StringIn(JsonObject values, string name) => values[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String =>
            v.AsString() ?? throw new RefusedReportException($"'{name}' is text that is not valid Unicode"),
        var other => throw new RefusedReportException($"'{name}' is {Describe(other)}, not text"),
    };

    /// <summary>Guest text for a log line, cut short.</summary>
    public static string Quote(string text) => text.Length <= QuoteLimit ? $"'{text}'" : $"'{text[..QuoteLimit]}...' ({text.Length} characters)";

    private static string Describe(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "text",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            var kind => kind.ToString(),
        },
    };
}
