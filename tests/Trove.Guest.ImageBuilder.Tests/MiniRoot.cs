using System.Text.RegularExpressions;

namespace Trove.Guest.ImageBuilder.Tests;

/// <summary>
/// A root tree one can chroot into, made in a second from the host's own binaries and the libraries ldd names: enough
/// for bash hook scripts, without a network or a debootstrap.
/// </summary>
public static partial class MiniRoot
{
    private static readonly string[] Tools = ["/bin/bash", "/usr/bin/env", "/bin/cat", "/bin/ls", "/bin/touch", "/bin/sleep", "/bin/echo", "/bin/mkdir"];

    [GeneratedRegex(@"(/[^\s]+\.so[^\s]*)")]
    private static partial Regex Library();

    public static void Create(string root)
    {
        foreach (var dir in new[] { "etc", "tmp", "proc", "sys", "dev", "root", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64" }) Directory.CreateDirectory(Path.Combine(root, dir));
        foreach (var link in new[] { "bin", "sbin", "lib", "lib64" })
        {
            if (!Path.Exists(Path.Combine(root, link))) File.CreateSymbolicLink(Path.Combine(root, link), "usr/" + link);
        }
        File.WriteAllText(Path.Combine(root, "etc", "resolv.conf"), "# the image's own\n");
        foreach (var tool in Tools)
        {
            var real = Path.GetFullPath(new FileInfo(tool).ResolveLinkTarget(true)?.FullName ?? tool);
            Copy(real, Path.Combine(root, "usr", tool.TrimStart('/').Replace("usr/", "")));
            using var ldd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ldd", real) { RedirectStandardOutput = true })!;
            foreach (Match m in Library().Matches(ldd.StandardOutput.ReadToEnd()))
            {
                var lib = m.Groups[1].Value;
                if (!File.Exists(lib)) continue;
                Copy(new FileInfo(lib).ResolveLinkTarget(true)?.FullName ?? lib, Path.Combine(root, lib.TrimStart('/')));
            }
            ldd.WaitForExit();
        }
    }

    private static void Copy(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        if (!File.Exists(destination)) File.Copy(source, destination);
        File.SetUnixFileMode(destination, File.GetUnixFileMode(source));
    }
}
