namespace Trove.Guest.ImageBuilder.Hooks;

/// <summary>A hook phase: its directory name and whether its scripts run inside the image's chroot.</summary>
public sealed record Phase(string Directory, bool InChroot)
{
    public string Name => Directory[..^2];

    /// <summary>diskimage-builder's phases, in the order a build runs them (DIB 1.2).</summary>
    public static readonly IReadOnlyList<Phase> All =
    [
        new("root.d", false),
        new("extra-data.d", false),
        new("pre-install.d", true),
        new("install.d", true),
        new("post-install.d", true),
        new("post-root.d", false),
        new("block-device.d", false),
        new("pre-finalise.d", false),
        new("finalise.d", true),
        new("cleanup.d", false),
    ];

    public static Phase Named(string name) =>
        All.FirstOrDefault(p => p.Name == name || p.Directory == name) ?? throw new ArgumentException($"'{name}' is not a diskimage-builder phase");

    public override string ToString() => Directory;
}
