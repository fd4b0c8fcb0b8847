using Trove.Guest.Testing;

[assembly: AssemblyFixture(typeof(Trove.Guest.Agent.Tests.Infrastructure.BrokerFixture))]

namespace Trove.Guest.Agent.Tests.Infrastructure;

/// <summary>One private RabbitMQ node for the agent tests.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    private RabbitMqBroker? _broker;

    public RabbitMqBroker Broker => _broker ?? throw new InvalidOperationException("broker not started");
    public string Url => Broker.Url;

    public async ValueTask InitializeAsync() => _broker = await RabbitMqBroker.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_broker is not null) await _broker.DisposeAsync();
    }
}
