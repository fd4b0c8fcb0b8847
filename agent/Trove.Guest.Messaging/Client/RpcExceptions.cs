using Trove.Guest.Messaging.Protocol;

namespace Trove.Guest.Messaging.Client;

/// <summary>oslo's <c>MessagingTimeout</c>: no reply came within the call's timeout.</summary>
public sealed class MessagingTimeoutException(string messageId, TimeSpan timeout)
    : TimeoutException($"Timed out waiting for a reply to message ID {messageId}")
{
    public string MessageId { get; } = messageId;
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>
/// The server raised: oslo's <c>RemoteError</c>, carrying the remote class, module, message and traceback so callers can
/// tell <c>NoSuchMethod</c> from <c>UnsupportedVersion</c> from a Trove <c>GuestError</c>.
/// </summary>
public sealed class RemoteErrorException(RemoteFailure failure)
    : Exception($"Remote error: {failure.ClassName} {failure.Message}")
{
    public RemoteFailure Failure { get; } = failure;
    public string ClassName => Failure.ClassName;
    public string Module => Failure.Module;
    public string RemoteMessage => Failure.Message;
}
