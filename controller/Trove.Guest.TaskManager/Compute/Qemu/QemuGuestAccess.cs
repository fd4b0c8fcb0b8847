using System.Text.Json;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// How an operator reaches a qemu guest (<see cref="QemuServerLayout.AccessFile"/>): the loopback ports forwarded to
/// its SSH and engine, and its SSH host keys (OpenSSH public key lines, <c>ssh-ed25519 AAAA...</c>) pinned from the
/// serial console on first boot. Empty <see cref="HostKeys"/>: the guest has not printed them yet, and no SSH
/// connection is made (a key is never trusted on first use over the network).
/// </summary>
public sealed record QemuGuestAccess(int SshPort, int EnginePort, IReadOnlyList<string> HostKeys)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static QemuGuestAccess Read(string file) =>
        JsonSerializer.Deserialize<QemuGuestAccess>(File.ReadAllText(file), Json) ?? throw new InvalidDataException($"{file} is empty");

    public void Write(string file) => File.WriteAllText(file, JsonSerializer.Serialize(this, Json));
}
