using FluentAssertions;
using Trove.Guest.Messaging.Transport;

namespace Trove.Guest.Messaging.Tests.Unit;

public sealed class TransportUrlTests
{
    [Fact]
    public void Parses_several_hosts_with_their_own_credentials_and_vhost()
    {
        var url = TransportUrl.Parse("rabbit://u1:p%40ss@10.0.0.1:5673,u2:pw2@rmq2/trove%2Fprod?amqp_durable_queues=true");
        url.Hosts.Should().Equal(
            new TransportHost("10.0.0.1", 5673, "u1", "p@ss"),
            new TransportHost("rmq2", 5672, "u2", "pw2"));
        url.VirtualHost.Should().Be("trove/prod");
        url.Options.Should().ContainKey("amqp_durable_queues").WhoseValue.Should().Be("true");
    }

    [Theory]
    [InlineData("rabbit://guest:guest@127.0.0.1:5682/", "/")]
    [InlineData("rabbit://guest:guest@127.0.0.1:5682", "/")]
    [InlineData("rabbit://h/vh", "vh")]
    public void Empty_path_means_the_default_vhost(string text, string vhost) =>
        TransportUrl.Parse(text).VirtualHost.Should().Be(vhost);

    [Fact]
    public void Parses_ipv6_hosts() =>
        TransportUrl.Parse("rabbit://a:b@[::1]:5999/").Hosts.Single().Should().Be(new TransportHost("::1", 5999, "a", "b"));

    [Fact]
    public void Never_shows_passwords()
    {
        var text = TransportUrl.Parse("rabbit://admin:s3cr3t@h1:5672,bob:hunter2@h2/").ToString();
        text.Should().NotContain("s3cr3t").And.NotContain("hunter2").And.Contain("admin:***@h1:5672");
    }

    [Theory]
    [InlineData("amqp://h/")]
    [InlineData("http://h/")]
    [InlineData("rabbit://")]
    [InlineData("rabbit://h:notaport/")]
    [InlineData("rabbit://h:70000/")]
    [InlineData("no-scheme")]
    public void Rejects_what_oslo_cannot_use(string text) =>
        FluentActions.Invoking(() => TransportUrl.Parse(text)).Should().Throw<FormatException>();

    [Fact]
    public void Driver_options_shape_the_queue_declarations()
    {
        var quorum = RabbitDriverOptions.FromUrl(TransportUrl.Parse("rabbit://h/?rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=5"));
        quorum.EffectiveDurable.Should().BeTrue();
        quorum.DurableQueueArguments().Should().BeEquivalentTo(new Dictionary<string, object?> { ["x-queue-type"] = "quorum", ["x-delivery-limit"] = 5 });
        quorum.TransientQueueArguments().Should().BeEquivalentTo(new Dictionary<string, object?> { ["x-expires"] = 1800000 });

        var ha = RabbitDriverOptions.FromUrl(TransportUrl.Parse("rabbit://h/?rabbit_ha_queues=1&rabbit_transient_queues_ttl=600"));
        ha.TransientQueueArguments().Should().BeEquivalentTo(new Dictionary<string, object?> { ["x-expires"] = 600000, ["x-ha-policy"] = "all" });
        ha.DurableQueueArguments().Should().BeEquivalentTo(new Dictionary<string, object?> { ["x-ha-policy"] = "all" });
        ha.TransientQueueArguments()["x-expires"].Should().BeOfType<int>("RabbitMQ compares it as a signed 32-bit int");
    }

    [Fact]
    public void Bad_option_values_are_clear_errors()
    {
        FluentActions.Invoking(() => RabbitDriverOptions.FromUrl(TransportUrl.Parse("rabbit://h/?amqp_durable_queues=maybe")))
            .Should().Throw<FormatException>().WithMessage("*amqp_durable_queues=maybe*");
        FluentActions.Invoking(() => RabbitDriverOptions.FromUrl(TransportUrl.Parse("rabbit://h/?rabbit_ha_queues=true&rabbit_quorum_queue=true")))
            .Should().Throw<FormatException>();
    }

    [Fact]
    public void Reconnect_delay_grows_like_olsos_and_is_capped()
    {
        var o = new RabbitDriverOptions();
        Enumerable.Range(0, 4).Select(o.ReconnectDelay).Select(t => t.TotalSeconds).Should().Equal(1, 3, 5, 7);
        o.ReconnectDelay(100).Should().Be(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Tls_options_come_from_the_url()
    {
        var o = RabbitDriverOptions.FromUrl(TransportUrl.Parse("rabbit://h:5671/?ssl=true&ssl_ca_file=/etc/ca.pem"));
        o.Ssl.Should().BeTrue();
        o.SslCaFile.Should().Be("/etc/ca.pem");
    }
}
