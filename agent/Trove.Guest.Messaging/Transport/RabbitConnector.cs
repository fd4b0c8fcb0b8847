using System.Net.Security;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Trove.Guest.Messaging.Transport;

/// <summary>
/// Opens connections the way oslo's rabbit driver does: the URL's hosts in order, then again after a growing pause
/// (<c>rabbit_retry_interval</c> + n × <c>rabbit_retry_backoff</c>, at most <c>rabbit_interval_max</c>), until it
/// succeeds or the caller gives up. Once open, RabbitMQ.Client's automatic recovery re-opens the connection and
/// re-declares every queue, binding and consumer after a broker restart, as oslo's consumers do. The first attempt
/// waits (up to the connection timeout) for a route to the brokers (<see cref="BrokerRoute"/>): at boot the agent starts
/// before the network is configured.
/// </summary>
public sealed class RabbitConnector(TransportUrl url, RabbitDriverOptions options, ILogger logger)
{
    public TransportUrl Url { get; } = url;
    public RabbitDriverOptions Options { get; } = options;

    public async Task<IConnection> ConnectAsync(string purpose, CancellationToken cancellationToken)
    {
        var name = $"{Path.GetFileName(Environment.ProcessPath) ?? "trove-guest"}:{Environment.ProcessId}:{Guid.NewGuid()}";
        await BrokerRoute.WaitAsync(Url.Hosts, ConnectionTimeout, logger, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            foreach (var host in Url.Hosts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    var factory = CreateFactory(host, name);
                    var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                    logger.LogInformation("Connected to AMQP server {Host} ({Purpose})", host.ToString(), purpose);
                    connection.ConnectionShutdownAsync += (_, e) =>
                    {
                        if (e.Initiator != ShutdownInitiator.Application)
                            logger.LogWarning("AMQP connection to {Host} lost ({Purpose}): {Reason}; reconnecting", host.ToString(), purpose, e.ReplyText);
                        return Task.CompletedTask;
                    };
                    connection.RecoverySucceededAsync += (_, _) =>
                    {
                        logger.LogInformation("AMQP connection to {Host} recovered ({Purpose})", host.ToString(), purpose);
                        return Task.CompletedTask;
                    };
                    return connection;
                }
                catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or IOException or ConnectFailureException)
                {
                    logger.LogWarning("AMQP server on {Host} is unreachable: {Reason}", host.ToString(), Innermost(e).Message);
                    if (e is BrokerUnreachableException { InnerException: AuthenticationFailureException auth })
                        throw new InvalidOperationException($"AMQP login to {host} refused: {auth.Message}", auth);
                }
            }
            var delay = Options.ReconnectDelay(attempt);
            logger.LogWarning("No AMQP server reachable; trying again in {Delay} s", delay.TotalSeconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(10);

    private ConnectionFactory CreateFactory(TransportHost host, string clientName)
    {
        var factory = new ConnectionFactory
        {
            HostName = host.Host,
            Port = host.Port,
            // oslo falls back to rabbit_userid/rabbit_password (guest/guest) for hosts without credentials.
            UserName = host.UserName ?? "guest",
            Password = host.Password ?? "guest",
            VirtualHost = Url.VirtualHost,
            RequestedHeartbeat = Options.Heartbeat,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = Options.RetryInterval,
            RequestedConnectionTimeout = ConnectionTimeout,
            ClientProvidedName = clientName,
        };
        if (Options.Ssl)
        {
            factory.Ssl = new SslOption
            {
                Enabled = true,
                ServerName = host.Host,
                CertPath = Options.SslCertFile ?? "",
            };
            if (Options.SslCaFile is { } ca)
            {
                // Trust exactly the configured CA, as oslo's ssl_ca_file does.
                var caCert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(ca);
                factory.Ssl.CertificateValidationCallback = (_, cert, chain, errors) =>
                {
                    if (errors == SslPolicyErrors.None) return true;
                    if (cert is null || chain is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
                    chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(caCert);
                    chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                    return chain.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(cert));
                };
            }
        }
        return factory;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

}
