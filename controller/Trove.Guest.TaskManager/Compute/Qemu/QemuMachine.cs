using System.Text.Json;

namespace Trove.Guest.TaskManager.Compute.Qemu;

/// <summary>
/// What a VM is started with beyond its disks (<see cref="QemuServerLayout.MachineFile"/>): the firmware its image asked
/// for, its CPUs, and the port its engine listens on inside the guest.
/// </summary>
public sealed record QemuMachine(QemuFirmware Firmware, int Vcpus, int GuestEnginePort)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static QemuMachine Read(string file) =>
        JsonSerializer.Deserialize<QemuMachine>(File.ReadAllText(file), Json) ?? throw new InvalidDataException($"{file} is empty");

    public void Write(string file) => File.WriteAllText(file, JsonSerializer.Serialize(this, Json));
}
