using System.Text;
using System.Text.RegularExpressions;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// The text of the agent's two configuration files, as Trove's taskmanager injects them: <c>guest_info.conf</c> (who
/// the guest is) and <c>trove-guestagent.conf</c> (the driver's sections, the instance's RPC key, then the request's
/// extra <c>section.key</c> settings, which win). Every driver writes these; where they go is the driver's business.
/// </summary>
public static partial class AgentConfigText
{
    public static (string GuestInfo, string AgentConfig) Render(ServerRequest request, Dictionary<string, Dictionary<string, string>> sections)
    {
        if (!sections.ContainsKey("DEFAULT")) sections["DEFAULT"] = new(StringComparer.Ordinal);
        if (request.RpcKey is { Length: > 0 } key) sections["DEFAULT"]["instance_rpc_encr_key"] = key;
        foreach (var (name, value) in request.Extra ?? new Dictionary<string, string>())
        {
            var dot = name.IndexOf('.');
            if (dot <= 0 || !Name().IsMatch(name[..dot]) || !Name().IsMatch(name[(dot + 1)..]))
                throw new ArgumentException($"extra agent setting '{name}' is not 'section.key'", nameof(request));
            var section = name[..dot];
            if (!sections.TryGetValue(section, out var keys)) sections[section] = keys = new(StringComparer.Ordinal);
            keys[name[(dot + 1)..]] = value;
        }
        // A line break would let a value write keys of its own.
        foreach (var (section, keys) in sections)
        {
            foreach (var (k, v) in keys)
            {
                if (v.Contains('\n') || v.Contains('\r')) throw new ArgumentException($"agent setting [{section}] {k} has a line break in its value", nameof(request));
            }
        }
        var guestInfo = $"""
            [DEFAULT]
            guest_id = {request.InstanceId}
            datastore_manager = {request.DatastoreManager}
            datastore_version = {request.DatastoreVersion}

            """;
        var text = new StringBuilder();
        foreach (var (section, keys) in sections)
        {
            text.Append('[').Append(section).Append("]\n");
            foreach (var (k, v) in keys) text.Append(k).Append(" = ").Append(v).Append('\n');
            text.Append('\n');
        }
        return (guestInfo, text.ToString());
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex Name();
}
