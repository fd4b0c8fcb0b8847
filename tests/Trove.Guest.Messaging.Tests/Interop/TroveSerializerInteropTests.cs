using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Interop;

/// <summary>
/// Live round trips with python3-trove's own serializer chain (<c>SecureSerializer(TroveRequestContextSerializer(...))</c>,
/// wired as trove/rpc.py wires it): what Trove encrypts we decrypt, and the reverse.
/// </summary>
public sealed class TroveSerializerInteropTests(BrokerFixture broker)
{
    private const string Key = "0123456789ABCDEFabcdefGHIJKLMNOP";

    private static string[] Peer(params string[] args) => [RepoPaths.TestScript("trove_secure_peer.py"), .. args];

    [Fact]
    public async Task Trove_client_calls_our_server_with_encrypted_args_context_and_result()
    {
        var topic = BrokerFixture.NewTopic("sec");
        await using var server = await CSharpServer.StartAsync(broker.Url, topic, serializer: SecureSerializer.ForTroveKey(Key));

        var echo = await PythonRpcClient.RunScriptAsync(Peer("client", "--url", broker.Url, "--topic", topic, "--key", Key,
            "--method", "echo", "--args", """{"value": {"databases": [{"_name": "db1"}], "n": 1.5, "u": "h\u00e9"}}"""));
        echo.Output.Should().Be("""{"databases": [{"_name": "db1"}], "n": 1.5, "u": "h\u00e9"}""", echo.Stderr);

        var context = await PythonRpcClient.RunScriptAsync(Peer("client", "--url", broker.Url, "--topic", topic, "--key", Key, "--method", "context"));
        var ctx = JsonNode.Parse(context.Output)!.AsObject();
        ctx["user"]!.GetValue<string>().Should().Be("u1");
        ctx["project_id"]!.GetValue<string>().Should().Be("p1");
        ctx["request_id"]!.GetValue<string>().Should().Be("req-secure-1");
    }

    [Fact]
    public async Task Trove_client_with_the_wrong_key_gets_a_clear_error()
    {
        var topic = BrokerFixture.NewTopic("sec");
        await using var server = await CSharpServer.StartAsync(broker.Url, topic, serializer: SecureSerializer.ForTroveKey(Key));
        var result = await PythonRpcClient.RunScriptAsync(Peer("client", "--url", broker.Url, "--topic", topic, "--key", "someone-elses-key",
            "--method", "echo", "--args", """{"value": 1}"""));
        result.ExitCode.Should().Be(1);
        result.Output.Should().Contain("\"exc_type\": \"DecryptionError\"").And.Contain("wrong instance key");
        (await PythonRpcClient.RunScriptAsync(Peer("client", "--url", broker.Url, "--topic", topic, "--key", Key, "--method", "echo", "--args", """{"value": 2}""")))
            .Output.Should().Be("2");
    }

    [Fact]
    public async Task Our_client_calls_a_trove_server_with_encrypted_args_context_and_result()
    {
        var topic = BrokerFixture.NewTopic("sec");
        await using var server = await PythonRpcServer.StartScriptAsync(Peer("server", "--url", broker.Url, "--topic", topic, "--server", "s1", "--key", Key));
        await using var client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(20) },
            SecureSerializer.ForTroveKey(Key));

        var value = JsonNode.Parse("""{"users": [{"_name": "u", "_password": "p"}], "ok": true, "none": null}""");
        var echoed = await client.CallAsync(new RpcTarget(topic, Version: "1.0"), "echo", new JsonObject { ["value"] = value });
        PythonJson.Dumps(echoed).Should().Be("""{"users": [{"_name": "u", "_password": "p"}], "ok": true, "none": null}""");

        var who = await client.CallAsync(new RpcTarget(topic), "whoami", options: new RpcCallOptions
        {
            Context = new JsonObject { ["user"] = "admin", ["project_id"] = "proj", ["request_id"] = "req-cs-1" },
        });
        PythonJson.Dumps(who).Should().Be("""{"user": "admin", "request_id": "req-cs-1", "project_id": "proj"}""");
    }
}
