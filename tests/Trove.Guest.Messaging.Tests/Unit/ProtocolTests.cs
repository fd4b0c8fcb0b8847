using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Messaging.Tests.Unit;

public sealed class ProtocolTests
{
    [Theory]
    [InlineData("1.3", "1.0", true)]
    [InlineData("1.3", "1.3", true)]
    [InlineData("1.3", "1.4", false)]
    [InlineData("1.3", "2.0", false)]
    [InlineData("1.0", "1.0.1", false)]
    [InlineData("1.0.2", "1.0.1", true)]
    [InlineData("1.1", "1.0.5", true)]
    public void Version_compatibility_follows_oslo(string endpoint, string requested, bool ok) =>
        RpcVersion.Parse(endpoint).CanServe(RpcVersion.Parse(requested)).Should().Be(ok);

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1.x")]
    [InlineData("1.2.3.4")]
    [InlineData("-1.0")]
    public void Bad_versions_do_not_parse(string text) => RpcVersion.TryParse(text, out _).Should().BeFalse();

    [Fact]
    public void Python_json_matches_json_dumps()
    {
        var node = JsonNode.Parse("""{"a": [1, "x", null, true, false], "s": "h\u00e9llo \u2603 \ud83d\ude00 \"q\" \\ \n\t\u0001\u007f", "n": 1.5e300}""");
        PythonJson.Dumps(node).Should().Be(
            """{"a": [1, "x", null, true, false], "s": "h\u00e9llo \u2603 \ud83d\ude00 \"q\" \\ \n\t\u0001\u007f", "n": 1.5e300}""");
    }

    [Theory]
    [InlineData(1700000000.5, "1700000000.5")]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.5e20, "1.5e+20")]
    [InlineData(123456789012345.6, "123456789012345.6")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    [InlineData(0.0, "0.0")]
    public void Floats_are_written_as_python_repr(double value, string expected) => PythonJson.FormatFloat(value).Should().Be(expected);

    [Fact]
    public void Envelope_round_trips_and_double_encodes_the_inner_message()
    {
        var body = OsloEnvelope.Wrap(new JsonObject { ["method"] = "echo", ["args"] = new JsonObject { ["value"] = "h\u00e9" } });
        Encoding.ASCII.GetString(body).Should().Be("""{"oslo.version": "2.0", "oslo.message": "{\"method\": \"echo\", \"args\": {\"value\": \"h\\u00e9\"}}"}""");
        OsloEnvelope.Unwrap(body)["args"]!["value"]!.GetValue<string>().Should().Be("h\u00e9");
    }

    [Fact]
    public void A_message_without_envelope_is_taken_as_it_is() =>
        OsloEnvelope.Unwrap("""{"method": "echo", "args": {}}"""u8.ToArray())["method"]!.GetValue<string>().Should().Be("echo");

    [Theory]
    [InlineData("""{"oslo.version": "3.0", "oslo.message": "{}"}""")]
    [InlineData("""{"oslo.version": "1.0", "oslo.message": "{}"}""")]
    [InlineData("""{"oslo.version": "2.1", "oslo.message": "{}"}""")]
    [InlineData("""{"oslo.version": "2.0", "oslo.message": "not json"}""")]
    [InlineData("""{"oslo.version": "2.0", "oslo.message": "[1]"}""")]
    [InlineData("""{"oslo.version": "2.0", "oslo.message": 5}""")]
    [InlineData("""[1, 2]""")]
    [InlineData("""not json""")]
    public void Undecodable_messages_are_refused(string body) =>
        FluentActions.Invoking(() => OsloEnvelope.Unwrap(Encoding.UTF8.GetBytes(body))).Should().Throw<MalformedMessageException>();

    [Fact]
    public void Envelope_version_2_0_0_is_accepted() =>
        OsloEnvelope.Unwrap("""{"oslo.version": "2.0.0", "oslo.message": "{\"method\": \"m\"}"}"""u8.ToArray())
            .Should().ContainKey("method");

    [Fact]
    public void Failures_serialize_as_oslo_and_strip_the_Remote_suffix()
    {
        var json = new RemoteFailure("NoSuchMethod", RemoteFailure.DispatcherModule, "Endpoint does not support RPC method x", ["tb\n"]).ToJson();
        json.Should().Be("""{"class": "NoSuchMethod", "module": "oslo_messaging.rpc.dispatcher", "message": "Endpoint does not support RPC method x", "tb": ["tb\n"], "args": ["Endpoint does not support RPC method x"], "kwargs": {}}""");
        var remote = RemoteFailure.Parse("""{"class": "GuestError_Remote", "module": "trove.common.exception_Remote", "message": "m", "tb": [], "args": [], "kwargs": {}}""");
        remote.ClassName.Should().Be("GuestError");
        remote.Module.Should().Be("trove.common.exception");
        RemoteFailure.Parse("garbage").Message.Should().Be("garbage");
    }

    [Fact]
    public void Dispatcher_tells_NoSuchMethod_from_UnsupportedVersion()
    {
        var dispatcher = new RpcDispatcher([
            new RpcEndpoint("1.3").Map("a", (_, _) => ValueTask.FromResult<JsonNode?>(1)),
            new RpcEndpoint("2.0", "admin").Map("b", (_, _) => ValueTask.FromResult<JsonNode?>(2)),
        ]);
        dispatcher.Resolve("a", null, "1.2").Should().NotBeNull();
        dispatcher.Resolve("a", null, null).Should().NotBeNull("a missing version means 1.0");
        dispatcher.Resolve("b", "admin", "2.0").Should().NotBeNull();
        Fail(() => dispatcher.Resolve("b", null, "1.0")).ClassName.Should().Be("NoSuchMethod");
        Fail(() => dispatcher.Resolve("a", null, "1.4")).ClassName.Should().Be("UnsupportedVersion");
        Fail(() => dispatcher.Resolve("a", "other", "1.0")).Message.Should().Be("Endpoint does not support RPC version 1.0. Attempted method: a");
        Fail(() => dispatcher.Resolve("_private", null, "1.0")).ClassName.Should().Be("NoSuchMethod");
        Fail(() => dispatcher.Resolve("a", null, "x.y")).ClassName.Should().Be("UnsupportedVersion");
        FluentActions.Invoking(() => new RpcEndpoint().Map("_hidden", (_, _) => ValueTask.FromResult<JsonNode?>(null)))
            .Should().Throw<ArgumentException>();

        static RpcFailureException Fail(Action a) => FluentActions.Invoking(a).Should().Throw<RpcFailureException>().Which;
    }

    [Fact]
    public void Duplicate_filter_remembers_the_last_16_ids()
    {
        var filter = new DuplicateFilter();
        filter.TryAdd("first").Should().BeTrue();
        filter.TryAdd("first").Should().BeFalse();
        for (var i = 0; i < 16; i++) filter.TryAdd($"id{i}").Should().BeTrue();
        filter.TryAdd("first").Should().BeTrue("it fell out of the 16-entry window");
        filter.TryAdd("id15").Should().BeFalse();
    }
}
