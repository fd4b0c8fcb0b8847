using System.Net;
using FluentAssertions;
using Trove.Guest.Messaging.Transport;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Unit;

public sealed class BrokerRouteTests
{
    private static readonly TransportHost[] ByAddress = [new("10.0.2.100", 5672, "guest", "guest")];

    [Fact]
    public async Task Waits_until_the_network_gives_a_route_to_the_broker()
    {
        var log = new TestLogger();
        var lookups = 0;
        var routed = await BrokerRoute.WaitAsync(ByAddress, TimeSpan.FromSeconds(30), log, TestContext.Current.CancellationToken,
            a => ++lookups > 3 && a.Equals(IPAddress.Parse("10.0.2.100")));

        routed.Should().BeTrue();
        lookups.Should().Be(4);
        log.Lines.Should().Contain(l => l.Contains("waiting for the network")).And.Contain(l => l.Contains("came up after"));
    }

    [Fact]
    public async Task Gives_up_after_its_limit_so_that_the_retry_takes_over()
    {
        var log = new TestLogger();
        var routed = await BrokerRoute.WaitAsync(ByAddress, TimeSpan.FromMilliseconds(200), log, TestContext.Current.CancellationToken, _ => false);

        routed.Should().BeFalse();
        log.Lines.Should().Contain(l => l.Contains("Warning") && l.Contains("connecting anyway"));
    }

    [Fact]
    public async Task Any_one_routable_broker_is_enough_and_a_routed_broker_is_not_waited_for()
    {
        var log = new TestLogger();
        TransportHost[] two = [new("192.0.2.1", 5672, null, null), new("::1", 5672, null, null)];
        var routed = await BrokerRoute.WaitAsync(two, TimeSpan.FromSeconds(30), log, TestContext.Current.CancellationToken,
            a => a.Equals(IPAddress.IPv6Loopback));

        routed.Should().BeTrue();
        log.Lines.Should().BeEmpty();
    }

    [Fact]
    public async Task Brokers_named_by_host_name_are_not_waited_for()
    {
        TransportHost[] named = [new("rabbit.example", 5672, null, null)];
        var routed = await BrokerRoute.WaitAsync(named, TimeSpan.FromSeconds(30), new TestLogger(), TestContext.Current.CancellationToken,
            _ => throw new InvalidOperationException("a name must not be looked up"));

        routed.Should().BeTrue();
    }

    [Fact]
    public void The_kernel_routes_loopback() =>
        BrokerRoute.IsRoutable(IPAddress.Loopback).Should().BeTrue();

    [Fact]
    public async Task A_cancelled_wait_ends_at_once()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var wait = () => BrokerRoute.WaitAsync(ByAddress, TimeSpan.FromMinutes(5), new TestLogger(), cts.Token, _ => false);
        await wait.Should().ThrowAsync<OperationCanceledException>();
    }
}
