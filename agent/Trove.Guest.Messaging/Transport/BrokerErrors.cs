using RabbitMQ.Client.Exceptions;

namespace Trove.Guest.Messaging.Transport;

internal static class BrokerErrors
{
    /// <summary>The connection or channel went away under us (broker restart, network): recovery will follow.</summary>
    public static bool IsConnectionLoss(Exception e) =>
        e is AlreadyClosedException or OperationInterruptedException or IOException or ObjectDisposedException;

    /// <summary>
    /// The broker refused what a channel asked for (403 access refused, 404 not found, 405 resource locked, 406
    /// precondition failed, e.g. a queue redeclared with other attributes) and closed that channel: asking again fails again.
    /// </summary>
    public static bool IsRefusal(Exception e) =>
        e is OperationInterruptedException { ShutdownReason.ReplyCode: 403 or 404 or 405 or 406 };
}
