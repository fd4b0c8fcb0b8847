using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Trove.Guest.Logging.Journald;

/// <summary>
/// The Linux calls .NET has no API for: memfd_create/fcntl seals, and sendmsg with SCM_RIGHTS to pass the memfd.
/// [LibraryImport] generates the marshalling at compile time, so this is Native-AOT and trim safe.
/// </summary>
internal static unsafe partial class Interop
{
    private const uint MFD_CLOEXEC = 0x1;
    private const uint MFD_ALLOW_SEALING = 0x2;
    private const int F_ADD_SEALS = 1033;
    internal const int F_GET_SEALS = 1034;
    private const int F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;
    // journald only trusts a memfd that can no longer change under it (memfd_get_sealed in systemd).
    internal const int AllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    private const int SOL_SOCKET = 1;
    private const int SCM_RIGHTS = 1;

    [LibraryImport("libc", EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MemfdCreate(string name, uint flags);

    // fcntl is variadic; passing the int argument as a fixed one matches the calling convention on
    // Linux x64 and arm64, the platforms the agent runs on.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int socket, MsgHdr* message, int flags);

    /// <summary>A memfd holding <paramref name="payload"/>, sealed against any further change.</summary>
    internal static SafeFileHandle CreateSealedMemfd(ReadOnlySpan<byte> payload)
    {
        int fd = MemfdCreate("journald-sink", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "memfd_create failed");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            RandomAccess.Write(handle, payload, fileOffset: 0);
            if (Fcntl(fd, F_ADD_SEALS, AllSeals) < 0)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "sealing the memfd failed");
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends an empty datagram carrying <paramref name="file"/> as SCM_RIGHTS on the connected
    /// <paramref name="socket"/>: journald reads the whole entry from a passed fd.
    /// </summary>
    internal static void SendFileDescriptor(Socket socket, SafeFileHandle file)
    {
        // Control message layout from <sys/socket.h>: cmsghdr, padded to size_t alignment, then the fd
        // (CMSG_LEN / CMSG_SPACE).
        int dataOffset = CmsgAlign(sizeof(CmsgHdr));
        int space = dataOffset + CmsgAlign(sizeof(int));
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        var header = (CmsgHdr*)control;
        header->Len = (nuint)(dataOffset + sizeof(int));
        header->Level = SOL_SOCKET;
        header->Type = SCM_RIGHTS;

        bool socketRef = false, fileRef = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref socketRef);
            file.DangerousAddRef(ref fileRef);
            *(int*)(control + dataOffset) = (int)file.DangerousGetHandle();
            var message = new MsgHdr { Control = control, ControlLength = (nuint)space };
            if (SendMsg((int)socket.SafeHandle.DangerousGetHandle(), &message, 0) < 0)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "sendmsg with the memfd failed");
        }
        finally
        {
            if (fileRef) file.DangerousRelease();
            if (socketRef) socket.SafeHandle.DangerousRelease();
        }
    }

    private static int CmsgAlign(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);

    // struct msghdr and struct cmsghdr; nuint/pointer fields keep the layout right on 32- and 64-bit Linux.
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public void* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHdr
    {
        public nuint Len;
        public int Level;
        public int Type;
    }
}
