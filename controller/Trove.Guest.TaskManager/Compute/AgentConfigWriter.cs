using System.Globalization;
using System.Text;

namespace Trove.Guest.TaskManager.Compute;

/// <summary>
/// Writes the agent's <c>--config-dir</c> as a VM's cloud-init would: <c>guest_info.conf</c> (who the guest is) and
/// <c>trove-guestagent.conf</c> (the broker, the key, the engine's place). Both hold secrets (the transport URL's
/// password, the instance's RPC key), so they are created with mode 0600 and never appear in an argv.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class AgentConfigWriter
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
        var (guestInfo, agentConfig) = AgentConfigText.Render(request, sections);
        Directory.CreateDirectory(layout.ConfigDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteSecret(layout.GuestInfoFile, guestInfo);
        WriteSecret(layout.AgentConfigFile, agentConfig);
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
}
