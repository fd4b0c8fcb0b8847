using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Server;

/// <summary>
/// An error to report to the caller under a Python class and module, e.g. <c>NoSuchMethod</c> in
/// <c>oslo_messaging.rpc.dispatcher</c>, or <c>GuestError</c> in <c>trove.common.exception</c>. Python callers rebuild
/// <c>builtins</c> classes and the modules they allow; anything else arrives as <c>RemoteError(exc_type=class)</c>.
/// </summary>
public class RpcFailureException(string className, string module, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public const string MessagingModule = "trove_guest.messaging";

    public string ClassName { get; } = className;
    public string Module { get; } = module;

    public static RpcFailureException NoSuchMethod(string method) =>
        new("NoSuchMethod", RemoteFailure.DispatcherModule, $"Endpoint does not support RPC method {method}");

    public static RpcFailureException UnsupportedVersion(string version, string method) =>
        new("UnsupportedVersion", RemoteFailure.DispatcherModule, $"Endpoint does not support RPC version {version}. Attempted method: {method}");

    public static RpcFailureException TypeError(string message) => new("TypeError", RemoteFailure.BuiltinsModule, message);

    public static RpcFailureException ValueError(string message) => new("ValueError", RemoteFailure.BuiltinsModule, message);

    /// <summary>A payload the serializer refused: wrong key, tampering, not base64.</summary>
    public static RpcFailureException Decryption(string message) => new("DecryptionError", MessagingModule, message);

    /// <summary>A message that is not a valid request (bad envelope, unreadable text).</summary>
    public static RpcFailureException InvalidMessage(string message) => new("InvalidRpcMessage", MessagingModule, message);
}
