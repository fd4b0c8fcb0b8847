namespace Trove.Guest.Testing;

/// <summary>
/// One private RabbitMQ node shared by every test of an assembly (each test assembly registers it with
/// <c>[assembly: AssemblyFixture(typeof(BrokerFixture))]</c>); tests use topics of their own.
/// </summary>
public sealed class BrokerFixture : Xunit.IAsyncLifetime
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
