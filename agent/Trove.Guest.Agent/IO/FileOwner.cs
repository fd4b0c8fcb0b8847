using System.Runtime.InteropServices;

namespace Trove.Guest.Agent.IO;

/// <summary>
/// <c>chown [-R] USER: PATH</c> in the agent's own process (lchown(2) with the user's uid and primary group from
/// getpwnam(3)): on prepare's path a <c>chown</c> process cost a fork and an exec, about a tenth of a second each on an
/// emulated CPU. Symbolic links are changed themselves and never followed, so a link planted in a datadir or a
/// restored backup cannot hand a file outside it to the engine's user.
/// </summary>
public static partial class FileOwner
{
    private static readonly Lock PasswdLock = new();

    /// <summary>Gives <paramref name="path"/> (and, with <paramref name="recursive"/>, everything under it) to <paramref name="user"/> and its primary group.</summary>
    public static void Set(string path, string user, bool recursive = false)
    {
        var (uid, gid) = Lookup(user);
        Change(path, uid, gid);
        if (recursive && Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null) ChangeTree(path, uid, gid);
    }

    private static void ChangeTree(string directory, uint uid, uint gid)
    {
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = false }))
        {
            Change(entry.FullName, uid, gid);
            if (entry is DirectoryInfo { LinkTarget: null } sub) ChangeTree(sub.FullName, uid, gid);
        }
    }

    private static void Change(string path, uint uid, uint gid)
    {
        if (LChown(path, uid, gid) != 0)
            throw new IOException($"chown {uid}:{gid} {path} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>The user's uid and primary gid, as <c>chown USER:</c> takes them.</summary>
    public static (uint Uid, uint Gid) Lookup(string user)
    {
        // getpwnam returns a static buffer: one caller at a time, and the two ids are read before the lock is left.
        lock (PasswdLock)
        {
            Marshal.SetLastPInvokeError(0);
            var entry = GetPwNam(user);
            if (entry == IntPtr.Zero)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new InvalidOperationException(errno == 0 ? $"no user named '{user}'" : $"looking up user '{user}' failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
            // struct passwd on Linux (glibc and musl alike): char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ...
            var uid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
            var gid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size + sizeof(uint));
            return (uid, gid);
        }
    }

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr GetPwNam(string name);

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, uint owner, uint group);
}
