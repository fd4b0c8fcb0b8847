using System.Reflection;
using System.Runtime.Versioning;

namespace Trove.Guest.Cli.KickStart;

/// <summary>
/// The repository this <c>trove-guest</c> was built in (the folder holding <c>Trove.Guest.sln</c>, found upwards from the
/// executable, as the image builder finds <c>elements/</c>), and the outputs kick-start uses from it: the published agent
/// the image takes, our templates, and the controller built with the same configuration as this CLI.
/// </summary>
internal sealed class SourceTree(string root)
{
    public const string SolutionFile = "Trove.Guest.sln";

    /// <summary>How <c>artifacts/agent/trove-guest-agent</c> is made (redstack.ps1 install runs it).</summary>
    public const string AgentPublishCommand = "dotnet publish agent/Trove.Guest.Agent -c Release -r linux-x64 -p:PublishAot=true -o artifacts/agent";

    public string Root { get; } = root;

    public string AgentBinary => Path.Combine(Root, "artifacts", "agent", "trove-guest-agent");

    public string Templates => Path.Combine(Root, "templates");

    /// <summary><c>trove-guest-controller.dll</c> of the same configuration and framework as this CLI (Release under redstack).</summary>
    public string ControllerAssembly => Path.Combine(Root, "controller", "Trove.Guest.Controller", "bin", BuildConfiguration, TargetFramework, "trove-guest-controller.dll");

    public static string BuildConfiguration =>
        typeof(SourceTree).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration ? configuration : "Release";

    /// <summary>The target framework's folder name (<c>net10.0</c>).</summary>
    private static string TargetFramework =>
        typeof(SourceTree).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName is { } name && new FrameworkName(name).Version is var v
            ? $"net{v.Major}.{v.Minor}"
            : "net10.0";

    /// <summary>The repository above <paramref name="start"/> (this executable's folder by default); null when it runs elsewhere (installed).</summary>
    public static SourceTree? Find(string? start = null)
    {
        for (var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile))) return new SourceTree(dir.FullName);
        }
        return null;
    }
}
