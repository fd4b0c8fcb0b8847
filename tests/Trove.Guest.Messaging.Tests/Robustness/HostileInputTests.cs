using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Robustness;

/// <summary>
/// Hand-made messages published straight to our server's queue. Each gets a clear error reply where it names a reply
/// queue, or a logged rejection; the server stays up and the next valid call succeeds.
/// </summary>
public sealed class HostileInputTests(BrokerFixture broker) : IAsyncLifetime
{
    private const string Key = "hostile-test-key-0123456789abcdef";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _topic = BrokerFixture.NewTopic("hostile");
    private CSharpServer _server = null!;
    private RawPeer _raw = null!;
    private RpcClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await CSharpServer.StartAsync(broker.Url, _topic);
        _raw = await RawPeer.ConnectAsync(broker.Url);
        _client = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(10) });
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _raw.DisposeAsync();
        await _server.DisposeAsync();
    }

    private string Call(string method, string argsJson, string msgId = "m1") =>
        $$"""{"method": "{{method}}", "args": {{argsJson}}, "_msg_id": "{{msgId}}", "_reply_q": "{{_raw.Queue}}", "_timeout": null, "_unique_id": "{{MessageIds.New()}}"}""";

    private async Task<RemoteFailure> ExpectFailureAsync()
    {
        var reply = await _raw.NextReplyAsync(Wait);
        reply.Should().NotBeNull("the server answers requests that name a reply queue");
        reply!["ending"]!.GetValue<bool>().Should().BeTrue();
        reply["result"].Should().BeNull();
        return RemoteFailure.Parse(reply["failure"]!.GetValue<string>());
    }

    private async Task ServerStillAnswersAsync()
    {
        var result = await _client.CallAsync(new RpcTarget(_topic), "echo", new JsonObject { ["value"] = "still here" });
        result!.GetValue<string>().Should().Be("still here");
    }

    private async Task ExpectLoggedRejectionAsync(string reason)
    {
        (await _raw.NextReplyAsync(TimeSpan.FromSeconds(1))).Should().BeNull("there is nowhere to reply to");
        await ServerStillAnswersAsync();
        _server.Log.Lines.Should().Contain(l => l.Contains("rejecting it") && l.Contains(reason));
    }

    [Fact]
    public async Task Body_that_is_not_json_is_rejected_and_logged()
    {
        await _raw.PublishAsync("trove", _topic, "this is { not json"u8.ToArray());
        await ExpectLoggedRejectionAsync("not JSON");
    }

    [Fact]
    public async Task Body_that_is_not_utf8_is_rejected_and_logged()
    {
        await _raw.PublishAsync("trove", _topic, [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
        await ExpectLoggedRejectionAsync("not valid UTF-8");
    }

    [Fact]
    public async Task Wrong_content_type_is_rejected_and_logged()
    {
        await _raw.PublishAsync("trove", _topic, OsloEnvelope.Wrap(new JsonObject { ["method"] = "echo" }), "text/plain");
        await ExpectLoggedRejectionAsync("text/plain");
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("3.0")]
    public async Task Unsupported_envelope_versions_get_an_error_reply(string version)
    {
        await _raw.PublishInnerAsync("trove", _topic, Call("echo", """{"value": 1}"""), version);
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("InvalidRpcMessage");
        failure.Message.Should().Contain($"unsupported envelope version '{version}'");
        await ServerStillAnswersAsync();
    }

    [Fact]
    public async Task Envelope_version_without_a_message_is_a_bare_message_without_method()
    {
        var body = $$"""{"oslo.version": "2.0", "_msg_id": "m1", "_reply_q": "{{_raw.Queue}}"}""";
        await _raw.PublishAsync("trove", _topic, Encoding.UTF8.GetBytes(body));
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("TypeError");
        failure.Message.Should().Contain("no 'method'");
        await ServerStillAnswersAsync();
    }

    [Fact]
    public async Task Missing_method_is_a_TypeError()
    {
        await _raw.PublishInnerAsync("trove", _topic, $$"""{"args": {}, "_msg_id": "m2", "_reply_q": "{{_raw.Queue}}"}""");
        (await ExpectFailureAsync()).ClassName.Should().Be("TypeError");
        await ServerStillAnswersAsync();
    }

    [Theory]
    [InlineData("[1, 2]", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("42", "a number")]
    public async Task Args_that_are_not_an_object_are_a_TypeError(string args, string described)
    {
        await _raw.PublishInnerAsync("trove", _topic, Call("echo", args));
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("TypeError");
        failure.Message.Should().Be($"'args' must be a JSON object, not {described}");
        await ServerStillAnswersAsync();
    }

    [Fact]
    public async Task Lone_surrogates_are_a_clear_ValueError()
    {
        await _raw.PublishInnerAsync("trove", _topic, Call("echo", """{"value": "bad \ud800 text"}"""));
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("ValueError");
        failure.Message.Should().Contain("lone UTF-16 surrogate").And.Contain("'value'");
        await ServerStillAnswersAsync();
    }

    [Fact]
    public async Task A_ten_megabyte_payload_is_served()
    {
        var big = new string('x', 10 * 1024 * 1024);
        var result = await _client.CallAsync(new RpcTarget(_topic), "echo", new JsonObject { ["value"] = big },
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) });
        result!.GetValue<string>().Length.Should().Be(big.Length);
    }

    [Fact]
    public async Task A_body_over_the_configured_limit_is_rejected_without_parsing()
    {
        var topic = BrokerFixture.NewTopic("small");
        await using var small = await CSharpServer.StartAsync(broker.Url, topic, maxMessageBytes: 1024);
        await _raw.PublishInnerAsync("trove", topic, Call("echo", $$"""{"value": "{{new string('y', 4096)}}"}"""));
        (await _raw.NextReplyAsync(TimeSpan.FromSeconds(1))).Should().BeNull();
        small.Log.Lines.Should().Contain(l => l.Contains("exceeds the limit of 1024"));
    }

    [Fact]
    public async Task Wrong_key_and_invalid_base64_get_DecryptionError_replies()
    {
        var topic = BrokerFixture.NewTopic("keyed");
        await using var keyed = await CSharpServer.StartAsync(broker.Url, topic, serializer: SecureSerializer.ForTroveKey(Key));

        await using (var wrong = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove", DefaultTimeout = TimeSpan.FromSeconds(10) },
                         SecureSerializer.ForTroveKey("not-the-right-key")))
        {
            var act = () => wrong.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = 1 });
            var error = (await act.Should().ThrowAsync<RemoteErrorException>()).Which;
            error.ClassName.Should().Be("DecryptionError");
            error.RemoteMessage.Should().Contain("wrong instance key");
        }

        var good = new TroveCbcCipher(Key);
        var context = good.Encrypt("""{"user": "u1"}""");
        await _raw.PublishInnerAsync("trove", topic,
            $$"""{"method": "echo", "args": {"value": "%%%not-base64%%%"}, "_msg_id": "m3", "_reply_q": "{{_raw.Queue}}", "_timeout": null, "_context_context": "{{context}}"}""");
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("DecryptionError");
        failure.Message.Should().Contain("argument 'value'");

        await using var right = await RpcClient.ConnectAsync(new RpcClientOptions { TransportUrl = broker.Url, Exchange = "trove" }, SecureSerializer.ForTroveKey(Key));
        (await right.CallAsync(new RpcTarget(topic), "echo", new JsonObject { ["value"] = "ok" }))!.GetValue<string>().Should().Be("ok");
    }

    [Fact]
    public async Task Unknown_method_and_dotnet_exceptions_are_reported_not_crashed_on()
    {
        await _raw.PublishInnerAsync("trove", _topic, Call("no_such_thing", "{}"));
        (await ExpectFailureAsync()).ClassName.Should().Be("NoSuchMethod");
        await _raw.PublishInnerAsync("trove", _topic, Call("crash", "{}"));
        var failure = await ExpectFailureAsync();
        failure.ClassName.Should().Be("InvalidOperationException");
        failure.Module.Should().Be("System");
        failure.Message.Should().Be("unexpected state");
        await _raw.PublishInnerAsync("trove", _topic, Call("add", """{"a": 1}"""));
        (await ExpectFailureAsync()).Message.Should().Be("add() missing 1 required positional argument: 'b'");
        await ServerStillAnswersAsync();
    }

    [Fact]
    public async Task Duplicates_are_dropped_and_casts_get_no_reply()
    {
        var uniqueId = MessageIds.New();
        var cast = $$"""{"method": "record", "args": {"value": "dup"}, "_unique_id": "{{uniqueId}}"}""";
        await _raw.PublishInnerAsync("trove", _topic, cast);
        await _raw.PublishInnerAsync("trove", _topic, cast);
        await ServerStillAnswersAsync();
        await Task.Delay(300);
        _server.Endpoints.Recorded.Count(v => v!.GetValue<string>() == "dup").Should().Be(1);
        (await _raw.NextReplyAsync(TimeSpan.FromMilliseconds(300))).Should().BeNull();
    }
}
