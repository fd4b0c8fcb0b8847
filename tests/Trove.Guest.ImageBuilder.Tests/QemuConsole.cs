using System.Diagnostics;
using System.Text;
using CliWrap;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// Boots a disk under qemu (TCG here; no network: <c>-nic none</c>; <c>-snapshot</c> leaves the disk as it was) with
/// SeaBIOS or OVMF, and reads its serial console until a line satisfies <c>done</c> or the time runs out.
/// </summary>
public static class QemuConsole
{
    public sealed record Boot(string Console, TimeSpan Elapsed)
    {
        public string Tail => Console[^Math.Min(Console.Length, 3000)..];
    }

    public static async Task<Boot> BootAsync(string disk, string format, string firmware, int memoryMb, Func<string, bool> done, TimeSpan limit)
    {
        List<string> args = ["-m", memoryMb.ToString(System.Globalization.CultureInfo.InvariantCulture), "-nographic", "-no-reboot", "-nic", "none", "-snapshot",
            "-drive", $"file={disk},format={format},if=virtio"];
        string? vars = null;
        if (firmware == "uefi")
        {
            vars = Path.Combine(Path.GetTempPath(), $"tgi-ovmf-vars-{Guid.NewGuid():N}.fd");
            File.Copy("/usr/share/OVMF/OVMF_VARS_4M.fd", vars);
            args.AddRange(["-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd", "-drive", $"if=pflash,format=raw,file={vars}"]);
        }
        var console = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(limit);
        try
        {
            await Cli.Wrap("qemu-system-x86_64").WithArguments(args).WithValidation(CommandResultValidation.None)
                .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
                {
                    lock (console) console.AppendLine(line);
                    if (done(line)) stop.Cancel();
                }))
                .ExecuteAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped once the line came (or at the limit: the caller's assertion tells which).
        }
        finally
        {
            if (vars is not null) File.Delete(vars);
        }
        lock (console) return new Boot(console.ToString(), watch.Elapsed);
    }
}
