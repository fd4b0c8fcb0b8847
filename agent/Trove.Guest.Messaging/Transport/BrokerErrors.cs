using RabbitMQ.Client.Exceptions;

namespace Trove.Guest.Messaging.Transport;

internal static class BrokerErrors
{
    /// <summary>The connection or channel went away under us (broker restart, network): recovery will follow.</summary>
    public static bool IsConnectionLoss(Exception e) =>
        e is AlreadyClosedException or OperationInterruptedException or IOException or ObjectDisposedException;
}
