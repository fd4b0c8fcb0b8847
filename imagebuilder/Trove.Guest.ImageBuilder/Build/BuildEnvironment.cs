using System.Collections;
using System.Text;
using Trove.Guest.ImageBuilder.Elements;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>What a build is asked for, beyond its elements.</summary>
public sealed record BuildSettings
{
    public string ImageName { get; init; } = "image";
    public string Arch { get; init; } = "amd64";
    /// <summary>DIB_IMAGE_CACHE, as disk-image-create takes it from the environment; DIB's default otherwise.</summary>
    public string ImageCache { get; init; } = Environment.GetEnvironmentVariable("DIB_IMAGE_CACHE") is { Length: > 0 } cache
        ? cache : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "image-create");
    public string RootLabel { get; init; } = "cloudimg-rootfs";
    public string RootFsType { get; init; } = "ext4";
    public int DebugTrace { get; init; }

    /// <summary>The builder's command line (DIB_ARGS; the manifests element records it).</summary>
    public string Arguments { get; init; } = "";

    /// <summary>SOURCE_DATE_EPOCH: fixed ids and file-system times for a reproducible image.</summary>
    public long? SourceDateEpoch { get; init; } =
        long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), out var epoch) ? epoch : null;
}

/// <summary>
/// The environment element scripts see, with the names DIB exports (DIB 1.6): the whole caller's environment (so
/// every <c>DIB_*</c> knob passes through), then the build's own variables, the element set as <c>IMAGE_ELEMENT</c>,
/// <c>IMAGE_ELEMENT_YAML</c> and the exported bash function <c>get_image_element_array</c>.
/// </summary>
public static class BuildEnvironment
{
    /// <summary>diskimage-builder's own library (<c>_LIB</c>: die, common-functions...) where Debian installs it.</summary>
    public const string DibLib = "/usr/lib/python3/dist-packages/diskimage_builder/lib";

    public static Dictionary<string, string> For(BuildLayout layout, ResolvedElements elements, ElementLibrary library, BuildSettings settings,
        IDictionary? inherited = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in inherited ?? Environment.GetEnvironmentVariables()) env[(string)e.Key] = (string?)e.Value ?? "";
        env["LC_ALL"] = "C";
        env["TMP_BUILD_DIR"] = layout.BuildDirectory;
        env["TMP_IMAGE_DIR"] = layout.ImageDirectory;
        env["TMP_HOOKS_PATH"] = layout.Hooks;
        env["TMP_MOUNT_PATH"] = layout.Root;
        env["TARGET_ROOT"] = layout.Root;
        env["ARCH"] = settings.Arch;
        env["IMAGE_NAME"] = settings.ImageName;
        env["ELEMENTS_PATH"] = string.Join(":", library.SearchPath);
        env["DIB_IMAGE_CACHE"] = settings.ImageCache;
        env["DIB_LOCKFILES"] = Path.Combine(settings.ImageCache, "lockfiles");
        env["DIB_DEBUG_TRACE"] = settings.DebugTrace.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["DIB_PYTHON_EXEC"] = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        env["DIB_ROOT_LABEL"] = settings.RootLabel;
        env["DIB_ROOT_FSTYPE"] = settings.RootFsType;
        env.TryAdd("DIB_DEFAULT_INSTALLTYPE", "source");
        // disk-image-create's defaults (lib/common-defaults, img-defaults): hooks run under `set -u` and rely on them.
        env.TryAdd("DIB_OFFLINE", "");
        env.TryAdd("DIB_CHECKSUM", "0");
        env.TryAdd("DIB_NO_TMPFS", "1");
        env.TryAdd("DIB_MIN_TMPFS", "2");
        env.TryAdd("FS_TYPE", settings.RootFsType);
        env.TryAdd("IMAGE_TYPE", "qcow2");
        env["DIB_MOUNTPOINTS"] = "/";
        env["DIB_ARGS"] = settings.Arguments;
        env["DIB_ENV"] = string.Join("\n", env.Where(kv => kv.Key.StartsWith("DIB_", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"declare -x {kv.Key}=\"{kv.Value}\""));
        var path = env.GetValueOrDefault("PATH") ?? "/usr/bin:/bin";
        foreach (var dir in new[] { "/sbin", "/usr/sbin", "/usr/local/sbin" })
            if (!(":" + path + ":").Contains(":" + dir + ":", StringComparison.Ordinal)) path += ":" + dir;
        env["PATH"] = path;
        if (Directory.Exists(DibLib)) env["_LIB"] = DibLib;
        env["IMAGE_ELEMENT"] = string.Join(" ", elements.Names);
        env["IMAGE_ELEMENT_YAML"] = ElementYaml(elements);
        // An exported bash function travels in the environment under this name; scripts that
        // `eval declare -A image_elements=($(get_image_element_array))` find it there, as under DIB.
        env["BASH_FUNC_get_image_element_array%%"] = $"() {{  echo \"{string.Join("", elements.Elements.Select(e => $"[{e.Name}]={e.Path} "))}\"\n}}";
        return env;
    }

    /// <summary><c>{name: path}</c> as PyYAML's safe_dump writes it (sorted keys, one per line).</summary>
    private static string ElementYaml(ResolvedElements elements)
    {
        var sb = new StringBuilder();
        foreach (var e in elements.Elements.OrderBy(e => e.Name, StringComparer.Ordinal)) sb.Append(e.Name).Append(": ").Append(e.Path).Append('\n');
        return sb.ToString();
    }
}
