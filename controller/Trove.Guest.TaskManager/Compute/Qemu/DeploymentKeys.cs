namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// The deployment's SSH key pair (<see cref="QemuServerLayout.DeploymentKey"/>): made once, by ssh-keygen, with the
/// private half 0600 in a 0700 folder. Its public half is injected into every guest's config drive.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class DeploymentKeys
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Makes the pair when it is missing and returns the public key line (<c>ssh-ed25519 AAAA... trove-guest-deployment</c>).</summary>
    public static async Task<string> EnsureAsync(string root, CancellationToken ct)
    {
        var key = QemuServerLayout.DeploymentKey(root);
        await Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!File.Exists(key))
            {
                // Made in a scratch folder and moved in without overwriting: a second controller starting at the same
                // moment keeps the key the first one made (every guest already has that one).
                var folder = Path.GetDirectoryName(key)!;
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var scratch = Directory.CreateTempSubdirectory("trove-guest-key-").FullName;
                try
                {
                    var made = Path.Combine(scratch, "id_ed25519");
                    await HostCommands.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "trove-guest-deployment", "-f", made], ct).ConfigureAwait(false);
                    File.SetUnixFileMode(made, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                    try
                    {
                        File.Move(made, key, overwrite: false);
                        File.Move(made + ".pub", key + ".pub", overwrite: true);
                    }
                    catch (IOException) when (File.Exists(key))
                    {
                        // Another process won; its key stands.
                    }
                }
                finally
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }
            if (!File.Exists(key + ".pub"))
            {
                // The public half is derived again from the private one: a new pair would lock every guest out.
                var publicKey = await HostCommands.RunAsync("ssh-keygen", ["-y", "-f", key], ct).ConfigureAwait(false);
                await File.WriteAllTextAsync(key + ".pub", publicKey.Trim() + " trove-guest-deployment\n", ct).ConfigureAwait(false);
            }
            return (await File.ReadAllTextAsync(key + ".pub", ct).ConfigureAwait(false)).Trim();
        }
        finally
        {
            Gate.Release();
        }
    }
}
