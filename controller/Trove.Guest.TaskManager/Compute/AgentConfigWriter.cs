using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// Writes the agent's <c>--config-dir</c> as a VM's cloud-init would: <c>guest_info.conf</c> (who the guest is) and
/// <c>trove-guestagent.conf</c> (the broker, the key, the engine's place). Both hold secrets (the transport URL's
/// password, the instance's RPC key), so they are created with mode 0600 and never appear in an argv.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class AgentConfigWriter
{
    public static void Write(ProcessServerLayout layout, ServerRequest request, ProcessComputeOptions options, int enginePort)
    {
        var manager = request.DatastoreManager;
        var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal)
        {
            ["DEFAULT"] = new(StringComparer.Ordinal)
            {
                ["transport_url"] = request.TransportUrl,
                ["control_exchange"] = request.ControlExchange,
                ["conductor_queue"] = request.ConductorTopic,
                ["report_interval"] = Math.Max(1, (int)options.ReportInterval.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                // The driver's volumes are ext4 files; Trove's default (ext3) would work too, but ext4 is what a cinder volume gets today.
                ["volume_fstype"] = "ext4",
            },
            [manager] = new(StringComparer.Ordinal)
            {
                ["mount_point"] = layout.MountPoint,
            },
            ["trove_guest"] = new(StringComparer.Ordinal)
            {
                ["engine_supervisor"] = "process",
                ["engine_config_dir"] = layout.EngineConfigDir,
                ["engine_socket"] = layout.EngineSocket,
                ["engine_port"] = enginePort.ToString(CultureInfo.InvariantCulture),
                ["engine_bind_address"] = options.EngineBindAddress,
                // No mysql user of its own on a development host; the tests run as root too.
                ["engine_user"] = "root",
                ["state_dir"] = layout.StateDir,
                ["templates_dir"] = options.TemplatesDir,
                ["replication_address"] = options.EngineBindAddress,
                // No systemd around a process guest.
                ["watchdog"] = "false",
            },
        };
        if (request.RpcKey is { Length: > 0 } key) sections["DEFAULT"]["instance_rpc_encr_key"] = key;
        foreach (var (name, value) in request.Extra ?? new Dictionary<string, string>())
        {
            var dot = name.IndexOf('.');
            if (dot <= 0 || !Name().IsMatch(name[..dot]) || !Name().IsMatch(name[(dot + 1)..]))
                throw new ArgumentException($"extra agent setting '{name}' is not 'section.key'", nameof(request));
            var section = name[..dot];
            if (!sections.TryGetValue(section, out var keys)) sections[section] = keys = new(StringComparer.Ordinal);
            keys[name[(dot + 1)..]] = value;
        }
        // A line break would let a value write keys of its own.
        foreach (var (section, keys) in sections)
        {
            foreach (var (k, v) in keys)
            {
                if (v.Contains('\n') || v.Contains('\r')) throw new ArgumentException($"agent setting [{section}] {k} has a line break in its value", nameof(request));
            }
        }

        Directory.CreateDirectory(layout.ConfigDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteSecret(layout.GuestInfoFile, $"""
            [DEFAULT]
            guest_id = {request.InstanceId}
            datastore_manager = {manager}
            datastore_version = {request.DatastoreVersion}

            """);
        var text = new StringBuilder();
        foreach (var (section, keys) in sections)
        {
            text.Append('[').Append(section).Append("]\n");
            foreach (var (k, v) in keys) text.Append(k).Append(" = ").Append(v).Append('\n');
            text.Append('\n');
        }
        WriteSecret(layout.AgentConfigFile, text.ToString());
    }

    /// <summary>Creates the file 0600 from the start (no window in which another user could read it).</summary>
    private static void WriteSecret(string path, string text)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex Name();
}
