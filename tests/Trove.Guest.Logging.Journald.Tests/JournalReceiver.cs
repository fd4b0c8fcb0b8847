using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Trove.Guest.Logging.Journald.Tests;

/// <summary>Stands in for journald: a unix datagram socket bound in a temporary directory.</summary>
public sealed unsafe partial class JournalReceiver : IDisposable
{
    private readonly Socket _socket;

    public JournalReceiver(string? path = null)
    {
        SocketPath = path ?? NewSocketPath();
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
    }

    public string SocketPath { get; }

    /// <summary>A path in a fresh temporary directory where no socket exists yet.</summary>
    public static string NewSocketPath() =>
        Path.Combine(Directory.CreateTempSubdirectory("journald-test-").FullName, "socket");

    /// <summary>The next entry, whether it came inline or as a passed memfd.</summary>
    public JournalEntry Receive() => JournalEntry.Parse(ReceiveRaw().Payload);

    /// <summary>The next datagram's bytes and the fd passed with it, if any, read back as the payload.</summary>
    public (byte[] Payload, bool ViaFileDescriptor, int Seals) ReceiveRaw()
    {
        if (!_socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
            throw new TimeoutException("no datagram within 5 s");

        var buffer = new byte[1 << 20];
        int dataOffset = CmsgAlign(sizeof(nuint) + 2 * sizeof(int));
        byte* control = stackalloc byte[64];
        new Span<byte>(control, 64).Clear();
        nint received;
        fixed (byte* data = buffer)
        {
            var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
            var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            received = RecvMsg((int)_socket.Handle, &message, 0);
            if (received < 0)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "recvmsg");
            if (message.ControlLength == 0)
                return (buffer[..(int)received], false, 0);
        }

        // One SCM_RIGHTS message with one fd, as journald expects for a payload too big for a datagram.
        nuint cmsgLength = *(nuint*)control;
        int level = *(int*)(control + sizeof(nuint));
        int type = *(int*)(control + sizeof(nuint) + sizeof(int));
        if (level != 1 || type != 1 || cmsgLength != (nuint)(dataOffset + sizeof(int)))
            throw new InvalidOperationException($"unexpected control message level={level} type={type} len={cmsgLength}");
        if (received != 0)
            throw new InvalidOperationException("a datagram carrying a memfd must be empty");

        using var file = new SafeFileHandle(*(int*)(control + dataOffset), ownsHandle: true);
        int seals = Fcntl((int)file.DangerousGetHandle(), 1034 /* F_GET_SEALS */, 0);
        var payload = new byte[RandomAccess.GetLength(file)];
        int read = RandomAccess.Read(file, payload, 0);
        return (payload[..read], true, seals);
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(SocketPath);
    }

    private static int CmsgAlign(int length) => (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int socket, MsgHdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }
}
