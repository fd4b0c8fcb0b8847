using System.Text;
using System.Text.Json.Nodes;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>One file the guest is to write (Nova's "personality" files, where Trove's taskmanager puts the agent's configuration).</summary>
public sealed record InjectedFile(string GuestPath, string Content);

/// <summary>
/// A config drive in Nova's layout (vfat, label <c>config-2</c>): <c>openstack/latest/meta_data.json</c> with
/// <c>uuid</c>, <c>hostname</c>, <c>public_keys</c> and <c>files</c> (each <c>{path, content_path}</c>), the file
/// contents under <c>openstack/content/NNNN</c>. cloud-init reads it, and so does our images' trove-guest-firstboot.
/// Made with mkfs.vfat and mtools: no loop device, no mount. The image is created 0600: it holds the agent's secrets.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class ConfigDrive
{
    private const int SizeKiB = 4096;

    public static async Task WriteAsync(string image, string instanceId, string hostname, IReadOnlyDictionary<string, string> publicKeys,
        IReadOnlyList<InjectedFile> files, CancellationToken ct)
    {
        var staging = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(image))!, ".config-drive");
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var entries = new JsonArray();
            for (var i = 0; i < files.Count; i++)
            {
                var name = i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
                WritePrivate(Path.Combine(staging, name), files[i].Content);
                entries.Add(new JsonObject { ["path"] = files[i].GuestPath, ["content_path"] = "/content/" + name });
            }
            var keys = new JsonObject();
            foreach (var (name, key) in publicKeys) keys[name] = key;
            var meta = new JsonObject
            {
                ["uuid"] = instanceId, ["name"] = hostname, ["hostname"] = hostname, ["launch_index"] = 0,
                ["availability_zone"] = "nova", ["public_keys"] = keys, ["files"] = entries,
            };
            WritePrivate(Path.Combine(staging, "meta_data.json"), meta.ToJsonString());

            if (File.Exists(image + ".new")) File.Delete(image + ".new");
            await RunAsync("mkfs.vfat", ["-n", "config-2", "-C", image + ".new", SizeKiB.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct).ConfigureAwait(false);
            // 0600 before any secret goes in.
            File.SetUnixFileMode(image + ".new", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(image + ".new", image, overwrite: true);
            await RunAsync("mmd", ["-i", image, "::/openstack", "::/openstack/latest", "::/openstack/content"], ct).ConfigureAwait(false);
            await RunAsync("mcopy", ["-i", image, Path.Combine(staging, "meta_data.json"), "::/openstack/latest/meta_data.json"], ct).ConfigureAwait(false);
            for (var i = 0; i < files.Count; i++)
            {
                var name = i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
                await RunAsync("mcopy", ["-i", image, Path.Combine(staging, name), "::/openstack/content/" + name], ct).ConfigureAwait(false);
            }
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static void WritePrivate(string path, string text)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    private static Task RunAsync(string tool, string[] args, CancellationToken ct) => HostCommands.RunAsync(tool, args, ct);
}
