using System.Globalization;

namespace Trove.Guest.ImageBuilder.Build;

/// <summary>
/// What makes two builds of the same inputs the same tree: state that is unique per build (and must be unique per
/// booted machine, which a shared image cannot be) is removed, and with <c>SOURCE_DATE_EPOCH</c> every timestamp newer
/// than it is clamped to it, as reproducible-builds.org asks of build tools.
/// </summary>
internal static class ReproducibleTree
{
    // Each is regenerated at first boot or by the next run of its tool; an image that ships one shares it with every
    // instance (a fixed machine-id makes every guest the same journal and DHCP client to the host).
    private static readonly string[] PerBuildFiles =
    [
        "var/lib/systemd/random-seed", "var/cache/ldconfig/aux-cache", "var/lib/dbus/machine-id",
        "var/lib/dpkg/status-old", "var/lib/dpkg/diversions-old", "var/lib/dpkg/statoverride-old",
        "var/cache/debconf/config.dat-old", "var/cache/debconf/templates.dat-old", "var/cache/debconf/passwords.dat-old",
        "etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-", "etc/subuid-", "etc/subgid-",
    ];

    public static void RemovePerBuildState(string root)
    {
        foreach (var file in PerBuildFiles)
        {
            var path = Path.Combine(root, file);
            if (File.Exists(path) && new FileInfo(path).LinkTarget is null) File.Delete(path);
        }
        // Empty, not absent: systemd then generates one at first boot and treats that boot as the first.
        var machineId = Path.Combine(root, "etc", "machine-id");
        if (File.Exists(machineId) && new FileInfo(machineId).LinkTarget is null) File.WriteAllBytes(machineId, []);
        // open-iscsi's postinst picks a random initiator name; instances sharing one confuse every iSCSI target (Cinder's
        // included). Debian's own marker makes the service pick one at first boot. The initramfs copies this file, so
        // this runs before the initramfs is built, and again at the final tidy.
        var initiator = Path.Combine(root, "etc", "iscsi", "initiatorname.iscsi");
        if (File.Exists(initiator) && new FileInfo(initiator).LinkTarget is null) File.WriteAllText(initiator, "GenerateName=yes\n");
    }

    public static Task ClampTimestampsAsync(string root, long sourceDateEpoch, CancellationToken ct)
    {
        var epoch = "@" + sourceDateEpoch.ToString(CultureInfo.InvariantCulture);
        return HostTools.RunAsync("clamping timestamps to SOURCE_DATE_EPOCH", "find",
            [root, "-newermt", epoch, "-exec", "touch", "--no-dereference", "--date", epoch, "{}", "+"], ct);
    }
}
