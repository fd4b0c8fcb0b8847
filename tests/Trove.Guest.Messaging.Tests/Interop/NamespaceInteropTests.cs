using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Server;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Interop;

/// <summary>Endpoint namespaces, both ways: a namespace mismatch is reported as UnsupportedVersion, as oslo does.</summary>
public sealed class NamespaceInteropTests(BrokerFixture broker)
{
    [Fact]
    public async Task Our_client_reaches_a_python_endpoint_in_its_namespace_only()
    {
        var topic = BrokerFixture.NewTopic("ns");
        await using var python = await PythonRpcServer.StartAsync(broker.Url, topic, "s1", "--namespace", "admin", "--version", "1.3");
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(20) });
        (await client.CallAsync(new RpcTarget(topic, Namespace: "admin", Version: "1.2"), "echo", new JsonObject { ["value"] = 7 }))!
            .GetValue<int>().Should().Be(7);
        var wrong = () => client.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = 7 });
        (await wrong.Should().ThrowAsync<RemoteErrorException>()).Which.ClassName.Should().Be("UnsupportedVersion");
    }

    [Fact]
    public async Task The_python_client_reaches_our_endpoint_in_its_namespace_only()
    {
        var topic = BrokerFixture.NewTopic("ns");
        var endpoint = new RpcEndpoint("1.3", "admin").Map("echo", (r, _) => ValueTask.FromResult(r.Arguments["value"]?.DeepClone()));
        await using var server = new RpcServer(new RpcServerOptions { TransportUrl = broker.Url, Exchange = "trove", Topic = topic, Server = "s1" },
            new RpcDispatcher([endpoint]));
        await server.StartAsync(CancellationToken.None);
        (await PythonRpcClient.RunAsync(broker.Url, topic, "--namespace", "admin", "--version", "1.3", "--method", "echo", "--args", """{"value": 7}"""))
            .Output.Should().Be("7");
        (await PythonRpcClient.RunAsync(broker.Url, topic, "--method", "echo", "--args", """{"value": 7}"""))
            .Output.Should().Contain("\"exc_type\": \"UnsupportedVersion\"");
    }
}
