namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// The directories of one build, under one build directory (DIB's <c>TMP_BUILD_DIR</c>): the merged hooks, the root
/// tree being built (<c>mnt</c>, DIB's <c>TMP_MOUNT_PATH</c> and <c>TARGET_ROOT</c>) and the image work area.
/// </summary>
public sealed record BuildLayout(string BuildDirectory)
{
    public string Hooks => Path.Combine(BuildDirectory, "hooks");
    public string Root => Path.Combine(BuildDirectory, "mnt");
    public string ImageDirectory => Path.Combine(BuildDirectory, "image");

    public static BuildLayout Create(string? parent = null)
    {
        string dir;
        if (parent is null)
        {
            dir = Directory.CreateTempSubdirectory("tgi_build.").FullName;
        }
        else
        {
            dir = Path.Combine(Path.GetFullPath(parent), "tgi_build." + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(dir);
        }
        var layout = new BuildLayout(dir);
        Directory.CreateDirectory(layout.Hooks);
        Directory.CreateDirectory(layout.Root);
        Directory.CreateDirectory(layout.ImageDirectory);
        return layout;
    }
}
