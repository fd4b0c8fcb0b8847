using Trove.Guest.Testing;

[assembly: AssemblyFixture(typeof(Trove.Guest.Messaging.Tests.Infrastructure.BrokerFixture))]

namespace Trove.Guest.Messaging.Tests.Infrastructure;

/// <summary>One private RabbitMQ node shared by every test of the assembly; tests use their own topics.</summary>
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

    /// <summary>A topic no other test uses.</summary>
    public static string NewTopic(string prefix) => $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
