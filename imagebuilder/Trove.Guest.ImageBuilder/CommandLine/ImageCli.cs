using System.CommandLine;
using Trove.Guest.ImageBuilder.Build;
using Trove.Guest.ImageBuilder.Elements;
using Trove.Guest.ImageBuilder.Hooks;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// The <c>trove-guest-image</c> command tree, with diskimage-builder's conventions (elements found on
/// <c>ELEMENTS_PATH</c>, our <c>elements/</c> and DIB's own after it). Exit codes: 0 ok, 1 build failure, 64 usage.
/// </summary>
public static class ImageCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 64;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("trove-guest-image: build Trove guest images from diskimage-builder elements, without device-mapper");
        root.Subcommands.Add(BuildCommand(stdout, stderr));
        root.Subcommands.Add(ElementsCommand(stdout, stderr));
        root.Subcommands.Add(RegisterCommand.Create(stdout, stderr));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) await stderr.WriteLineAsync($"trove-guest-image: {error.Message}").ConfigureAwait(false);
            return Usage;
        }
        return await parsed.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Our shipped elements: <c>elements/</c> beside the executable's repository, or where a package installs them; then DIB's.</summary>
    public static IEnumerable<string> BuiltInElements() => Shipped("TROVE_GUEST_ELEMENTS", "elements").Concat(ElementLibrary.DiskImageBuilderElements());

    /// <summary>Our shipped templates (<c>templates/</c>), found the same way as the elements.</summary>
    public static IReadOnlyList<string> BuiltInTemplates() => Shipped("TROVE_GUEST_TEMPLATES", "templates").Take(1).ToList();

    private static IEnumerable<string> Shipped(string variable, string folder)
    {
        foreach (var candidate in new[]
        {
            Environment.GetEnvironmentVariable(variable),
            FindUp(AppContext.BaseDirectory, folder),
            "/usr/share/trove-guest/" + folder,
        })
        {
            if (candidate is { Length: > 0 } && Directory.Exists(candidate)) yield return candidate;
        }
    }

    private static string? FindUp(string start, string name)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Trove.Guest.sln")) && Directory.Exists(Path.Combine(dir.FullName, name)))
                return Path.Combine(dir.FullName, name);
        }
        return null;
    }

    /// <summary><c>build [-o OUTPUT] [-t TYPES] [-a ARCH] [-n] [-x] [--image-size GB] [--no-cache] [--keep-build-dir] ELEMENT...</c>, disk-image-create's conventions.</summary>
    private static Command BuildCommand(TextWriter stdout, TextWriter stderr)
    {
        var names = new Argument<string[]>("ELEMENT") { Arity = ArgumentArity.OneOrMore, Description = "elements to build from" };
        var output = new Option<string>("-o") { Description = "output name, without the type's extension", DefaultValueFactory = _ => "image" };
        var types = new Option<string>("-t") { Description = "comma-separated output types", DefaultValueFactory = _ => "tar" };
        var arch = new Option<string>("-a") { Description = "architecture (dpkg name)", DefaultValueFactory = _ => "amd64" };
        var skipBase = new Option<bool>("-n") { Description = "do not add the base element" };
        var trace = new Option<bool>("-x") { Description = "show the hooks' output on the console too (DIB_DEBUG_TRACE=1)" };
        var keep = new Option<bool>("--keep-build-dir") { Description = "keep the build directory (hooks and tree) for inspection" };
        var imageSize = new Option<double?>("--image-size") { Description = "root file system size in GB (default: the tree's size with DIB's head room)" };
        var noCache = new Option<bool>("--no-cache") { Description = "run every phase, ignoring cached results (the cache is still refreshed)" };
        var command = new Command("build", "build an image from diskimage-builder elements") { names, output, types, arch, skipBase, trace, keep, imageSize, noCache };
        command.SetAction(async (parse, ct) =>
        {
            var outputName = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(Path.GetDirectoryName(outputName)!);
            // A terminal gets the live display; anything else (CI, a pipe, a test's writer) the plain log.
            var live = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected && !parse.GetValue(trace);
            using var progress = new ConsoleProgress(live ? TextWriter.Null : stdout, new StreamWriter(outputName + ".log", append: false) { AutoFlush = true }, parse.GetValue(trace));
            using var interruption = new Interruption(ct);
            try
            {
                var request = new BuildRequest
                {
                    Elements = parse.GetValue(names)!, Output = outputName, Types = parse.GetValue(types)!.Split(',', StringSplitOptions.RemoveEmptyEntries),
                    SkipBase = parse.GetValue(skipBase), ElementsPath = Environment.GetEnvironmentVariable("ELEMENTS_PATH"), BuiltInElements = BuiltInElements(), TemplateDirectories = BuiltInTemplates(),
                    Settings = new BuildSettings
                    {
                        Arch = parse.GetValue(arch)!, DebugTrace = parse.GetValue(trace) ? 1 : 0, Arguments = string.Join(" ", parse.Tokens.Select(t => t.Value)),
                    },
                    KeepBuildDirectory = parse.GetValue(keep),
                    NoCache = parse.GetValue(noCache),
                    ImageSizeBytes = parse.GetValue(imageSize) is { } gb ? (long)(gb * 1024 * 1024 * 1024) : null,
                };
                BuildResult result;
                if (live)
                {
                    var display = new LiveProgress(progress);
                    result = await display.RunAsync(() => new ImageBuild(request, display).RunAsync(interruption.Token)).ConfigureAwait(false);
                }
                else
                {
                    result = await new ImageBuild(request, progress).RunAsync(interruption.Token).ConfigureAwait(false);
                }
                await stdout.WriteLineAsync("phase and step times:").ConfigureAwait(false);
                foreach (var (step, elapsed) in result.Steps) await stdout.WriteLineAsync($"  {step,-24} {elapsed.TotalSeconds,8:0.0}s").ConfigureAwait(false);
                foreach (var file in result.Files.Concat(result.Records)) await stdout.WriteLineAsync($"wrote {file}").ConfigureAwait(false);
                await stdout.WriteLineAsync($"tree sha256 {result.TreeSha256}").ConfigureAwait(false);
                return Ok;
            }
            catch (Exception e) when (e is ElementException or PhaseFailedException or InvalidOperationException or NotSupportedException or HostToolException)
            {
                await stderr.WriteLineAsync($"trove-guest-image: {e.Message} (log: {outputName}.log)").ConfigureAwait(false);
                return Failed;
            }
            catch (OperationCanceledException)
            {
                await stderr.WriteLineAsync("trove-guest-image: cancelled; every mount of the build was taken down").ConfigureAwait(false);
                return Failed;
            }
        });
        return command;
    }

    /// <summary><c>elements [-n] [--env] ELEMENT...</c>: the expanded element set, as DIB's element-info shows it.</summary>
    private static Command ElementsCommand(TextWriter stdout, TextWriter stderr)
    {
        var names = new Argument<string[]>("ELEMENT") { Arity = ArgumentArity.OneOrMore, Description = "elements to build from" };
        var skipBase = new Option<bool>("-n") { Description = "do not add the base element (disk-image-create -n)" };
        var env = new Option<bool>("--env") { Description = "print eval-able IMAGE_ELEMENT and IMAGE_ELEMENT_YAML" };
        var command = new Command("elements", "show the element set a build would use, where each element comes from, and what it provides")
        {
            names, skipBase, env,
        };
        command.SetAction(async (parse, _) =>
        {
            try
            {
                var library = ElementLibrary.Load(Environment.GetEnvironmentVariable("ELEMENTS_PATH"), BuiltInElements());
                foreach (var (name, winner, hidden) in library.Overrides)
                    await stderr.WriteLineAsync($"element {name}: {winner} overrides {hidden}").ConfigureAwait(false);
                var resolved = ElementResolver.Resolve(library, ElementResolver.WithDefaults(parse.GetValue(names)!, parse.GetValue(skipBase)));
                if (parse.GetValue(env))
                {
                    await stdout.WriteLineAsync($"export IMAGE_ELEMENT='{string.Join(" ", resolved.Names)}'").ConfigureAwait(false);
                    await stdout.WriteLineAsync($"export IMAGE_ELEMENT_YAML='{string.Concat(resolved.Elements.Select(e => $"{e.Name}: {e.Path}\n"))}'").ConfigureAwait(false);
                    return Ok;
                }
                foreach (var e in resolved.Elements)
                {
                    var provides = e.Provides.Count > 0 ? $"  (provides {string.Join(", ", e.Provides)})" : "";
                    await stdout.WriteLineAsync($"{e.Name}\t{e.Path}{provides}").ConfigureAwait(false);
                }
                return Ok;
            }
            catch (ElementException e)
            {
                await stderr.WriteLineAsync($"trove-guest-image: {e.Message}").ConfigureAwait(false);
                return Failed;
            }
        });
        return command;
    }
}
