using Scriban;
using Scriban.Runtime;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// Renders <c>templates/&lt;manager&gt;/my.cnf.sbn</c> (Scriban) for a flavor, when the control plane sends no
/// <c>config_contents</c> of its own. The model is plain script objects, no .NET reflection, so it stays AOT-safe.
/// </summary>
public sealed class MyCnfTemplate(AgentOptions options)
{
    public string TemplatePath => Path.Combine(options.Guest.TemplatesDir, options.DatastoreManager, "my.cnf.sbn");

    public string Render(int memoryMb, string dataDir, string? datastoreVersion)
    {
        if (!File.Exists(TemplatePath))
            throw new RpcFailureException("GuestError", "trove.common.exception", $"no config_contents was sent and there is no template at {TemplatePath}");
        var template = Template.Parse(File.ReadAllText(TemplatePath), TemplatePath);
        if (template.HasErrors)
            throw new InvalidOperationException($"{TemplatePath}: {string.Join("; ", template.Messages)}");

        var model = new ScriptObject
        {
            ["flavor"] = new ScriptObject { ["ram"] = memoryMb },
            ["datastore"] = options.DatastoreManager,
            ["datastore_version"] = datastoreVersion ?? options.DatastoreVersion ?? "",
            ["data_dir"] = dataDir,
            ["socket"] = options.Guest.EngineSocket,
            ["port"] = options.Guest.EnginePort,
            ["config_dir"] = options.Guest.EngineConfigDir,
            // A stable server id per instance, as replication needs distinct ones: derived from the guest id.
            ["server_id"] = ServerId(options.GuestId),
        };
        var context = new TemplateContext { StrictVariables = true };
        context.PushGlobal(model);
        return template.Render(context);
    }

    /// <summary>FNV-1a of the guest id folded into 1..2^31-1: stable across restarts, distinct between instances.</summary>
    public static int ServerId(string guestId)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(guestId)) hash = (hash ^ b) * 16777619u;
        return (int)(hash % int.MaxValue) + 1;
    }
}
