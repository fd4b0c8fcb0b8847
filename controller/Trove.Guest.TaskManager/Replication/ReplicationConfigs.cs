using Scriban;
using Scriban.Runtime;

namespace Trove.Guest.TaskManager.Replication;

/// <summary>
/// The two replication overrides a control plane sends (Trove's <c>replica_source.config.template</c> and
/// <c>replica.config.template</c>), rendered from <c>templates/&lt;datastore&gt;/replica_source.cnf.sbn</c> and
/// <c>replica.cnf.sbn</c>.
/// </summary>
public sealed record ReplicationConfigs(string SourceConfig, string ReplicaConfig)
{
    public static ReplicationConfigs Render(string templatesDir, string datastore) =>
        new(RenderOne(Path.Combine(templatesDir, datastore, "replica_source.cnf.sbn"), datastore),
            RenderOne(Path.Combine(templatesDir, datastore, "replica.cnf.sbn"), datastore));

    private static string RenderOne(string path, string datastore)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no replication template at {path}", path);
        var template = Template.Parse(File.ReadAllText(path), path);
        if (template.HasErrors) throw new InvalidDataException($"{path}: {string.Join("; ", template.Messages)}");
        var context = new TemplateContext { StrictVariables = true };
        context.PushGlobal(new ScriptObject { ["datastore"] = datastore });
        return template.Render(context);
    }
}
