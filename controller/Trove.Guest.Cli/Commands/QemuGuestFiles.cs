using System.Text.Json;
using Trove.Guest.TaskManager.Compute.Qemu;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// One instance's qemu server as the CLI finds it on the controller's host: what it needs to reach the guest, each
/// missing piece a <see cref="CliFailure"/> (exit 1) that says what is missing and why.
/// </summary>
internal sealed record QemuGuestFiles(string InstanceId, string Root, QemuServerLayout Layout)
{
    public string DeploymentKey => QemuServerLayout.DeploymentKey(Root);

    /// <summary>access.json, with at least one pinned host key: nothing connects to a guest whose keys are not known.</summary>
    public QemuGuestAccess PinnedAccess()
    {
        if (!File.Exists(Layout.AccessFile))
            throw new CliFailure(ExitCodes.NoGuest, $"ERROR: instance {InstanceId} has no {Layout.AccessFile} yet: its guest has not been started");
        QemuGuestAccess access;
        try
        {
            access = QemuGuestAccess.Read(Layout.AccessFile);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new CliFailure(ExitCodes.NoGuest, $"ERROR: cannot read {Layout.AccessFile}: {e.Message}");
        }
        if (access.HostKeys is not { Count: > 0 })
            throw new CliFailure(ExitCodes.NoGuest, $"ERROR: the SSH host keys of instance {InstanceId} are not pinned yet (its guest has not printed them "
                + "on its serial console; see 'trove-guest log-fetch --console'): not connecting to a guest whose keys are not known");
        foreach (var line in access.HostKeys)
        {
            try
            {
                SshHostKey.Parse(line);
            }
            catch (FormatException e)
            {
                throw new CliFailure(ExitCodes.NoGuest, $"ERROR: {Layout.AccessFile} has a host key that is not an OpenSSH key line: {e.Message}");
            }
        }
        if (!File.Exists(DeploymentKey))
            throw new CliFailure(ExitCodes.NoGuest, $"ERROR: the deployment key {DeploymentKey} does not exist (the qemu driver makes it with its first server)");
        return access;
    }
}
