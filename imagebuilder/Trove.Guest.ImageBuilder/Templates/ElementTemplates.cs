using System.Globalization;
using Scriban;
using Scriban.Runtime;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.SupplyChain;
using YamlDotNet.RepresentationModel;

namespace Trove.Guest.ImageBuilder.Templates;

/// <summary>One file an element asks to render: where it goes in the image, its Scriban template, its mode.</summary>
public sealed record TemplateFile(Element Element, string Target, string Template, UnixFileMode Mode);

/// <summary>
/// Files elements render into the image from Scriban templates. An element lists them in <c>templates.yaml</c>:
/// <code>
/// /etc/trove/conf.d/guest-image.conf:   # where, in the image
///   template: guest-image.conf.sbn       # the element's templates/ folder first, then each template directory
///   mode: "0640"                         # optional; 0644 by default
/// </code>
/// They are rendered after post-install, so that no package install overwrites them and post-root and the finalising
/// phases see them. Templates see <c>env</c> (the build's environment, as hooks see it), <c>arch</c>, <c>image_name</c>,
/// <c>elements</c> (names) and <c>element</c> (the element's own name); an unknown name is an error, not an empty string.
/// </summary>
public static class ElementTemplates
{
    public const string FileName = "templates.yaml";

    public static IReadOnlyList<TemplateFile> Find(IEnumerable<Element> elements, IReadOnlyList<string> templateDirectories)
    {
        var files = new List<TemplateFile>();
        foreach (var element in elements)
        {
            var list = Path.Combine(element.Path, FileName);
            if (!File.Exists(list)) continue;
            var yaml = new YamlStream();
            try
            {
                using var reader = new StreamReader(list);
                yaml.Load(reader);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new ElementException($"{list}: {e.Message}");
            }
            if (yaml.Documents.Count == 0) continue;
            if (yaml.Documents[0].RootNode is not YamlMappingNode entries) throw new ElementException($"{list}: expected a mapping of image paths to templates");
            foreach (var (key, value) in entries.Children)
            {
                var target = ((YamlScalarNode)key).Value ?? "";
                if (!target.StartsWith('/')) throw new ElementException($"{list}: '{target}' is not an absolute path in the image");
                if (value is not YamlMappingNode fields || !fields.Children.TryGetValue(new YamlScalarNode("template"), out var nameNode) || nameNode is not YamlScalarNode { Value: { Length: > 0 } name })
                    throw new ElementException($"{list}: {target} needs a 'template'");
                if (name.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(name)) throw new ElementException($"{list}: template '{name}' must be a name under a template directory");
                var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
                if (fields.Children.TryGetValue(new YamlScalarNode("mode"), out var modeNode))
                {
                    var text = ((YamlScalarNode)modeNode).Value ?? "";
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _) || text.Any(c => c > '7'))
                        throw new ElementException($"{list}: mode '{text}' of {target} is not octal");
                    mode = (UnixFileMode)Convert.ToInt32(text, 8);
                }
                var source = new[] { Path.Combine(element.Path, "templates") }.Concat(templateDirectories)
                    .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
                    ?? throw new ElementException($"{list}: template '{name}' for {target} is in neither {Path.Combine(element.Path, "templates")} nor {string.Join(", ", templateDirectories)}");
                files.Add(new TemplateFile(element, target, source, mode));
            }
        }
        return files;
    }

    /// <summary>What the rendered files depend on besides the hooks: each template's content (part of the finished tree's cache key).</summary>
    public static string InputsHash(IEnumerable<TemplateFile> files) =>
        string.Join(",", files.Select(f => $"{f.Target}={f.Mode}:{ContentHash.OfFile(f.Template)}"));

    public static void Render(IEnumerable<TemplateFile> files, string root, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> elementNames)
    {
        // What every template sees; each file adds only its element's name.
        var build = new ScriptObject();
        var env = new ScriptObject();
        foreach (var (name, value) in environment) env[name] = value;
        var names = new ScriptArray();
        foreach (var name in elementNames) names.Add(name);
        build["env"] = env;
        build["arch"] = environment.GetValueOrDefault("ARCH") ?? "";
        build["image_name"] = environment.GetValueOrDefault("IMAGE_NAME") ?? "";
        build["elements"] = names;
        foreach (var file in files)
        {
            var template = Template.Parse(File.ReadAllText(file.Template), file.Template);
            if (template.HasErrors) throw new ElementException($"{file.Template}: {string.Join("; ", template.Messages)}");
            var context = new TemplateContext { StrictVariables = true, EnableRelaxedMemberAccess = false, MemberRenamer = m => m.Name };
            context.PushGlobal(build);
            context.PushGlobal(new ScriptObject { ["element"] = file.Element.Name });
            string text;
            try
            {
                text = template.Render(context);
            }
            catch (Scriban.Syntax.ScriptRuntimeException e)
            {
                throw new ElementException($"{file.Template} (element {file.Element.Name}, for {file.Target}): {e.Message}");
            }
            var host = TreePath.Resolve(root, file.Target);
            Directory.CreateDirectory(Path.GetDirectoryName(host)!);
            if (new FileInfo(host).LinkTarget is not null) File.Delete(host);
            File.WriteAllText(host, text);
            File.SetUnixFileMode(host, file.Mode);
        }
    }
}
