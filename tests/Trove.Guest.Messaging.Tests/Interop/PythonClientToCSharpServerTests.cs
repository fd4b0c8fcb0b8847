using FluentAssertions;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Interop;

/// <summary>
/// The real oslo.messaging client against our server: every check of <c>../shared/interop/peer_selftest.sh</c>, with
/// the same client arguments and the same expected output.
/// </summary>
public sealed class PythonClientToCSharpServerTests(BrokerFixture broker) : IAsyncLifetime
{
    private readonly string _topic = BrokerFixture.NewTopic("pyc");
    private CSharpServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await CSharpServer.StartAsync(broker.Url, _topic);

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    public static TheoryData<string, string, string[]> Checks => new()
    {
        { "echo", """^\{"a": \[1, "x", null\]\}$""", ["--method", "echo", "--args", """{"value": {"a": [1, "x", null]}}"""] },
        { "add", "^42$", ["--method", "add", "--args", """{"a": 40, "b": 2}"""] },
        { "direct-server", "^42$", ["--server", "s1", "--method", "add", "--args", """{"a": 40, "b": 2}"""] },
        { "unicode", """^"h\\u00e9llo"$""", ["--method", "echo", "--args", """{"value": "h\u00e9llo"}"""] },
        { "fail", "\"class\": \"ValueError\".*boom", ["--method", "fail", "--args", """{"message": "boom"}"""] },
        { "no-such-method", "\"exc_type\": \"NoSuchMethod\"", ["--method", "nope"] },
        { "bad-version", "\"exc_type\": \"UnsupportedVersion\"", ["--version", "2.0", "--method", "echo", "--args", """{"value": 1}"""] },
        { "ok-version", "^1$", ["--version", "1.0", "--method", "echo", "--args", """{"value": 1}"""] },
        { "context", "\"user\": \"u1\".*\"client_timeout\": null", ["--method", "context", "--ctxt", """{"user": "u1"}"""] },
        { "slow+monitor", "^3$", ["--method", "slow", "--args", """{"seconds": 3}""", "--call-monitor-timeout", "2", "--timeout", "10"] },
        { "timeout", "\"class\": \"MessagingTimeout\"", ["--method", "slow", "--args", """{"seconds": 3}""", "--timeout", "1"] },
        { "throughput", "\"errors\": 0", ["--method", "echo", "--args", """{"value": 1}""", "--count", "200", "--concurrency", "4"] },
    };

    [Theory]
    [MemberData(nameof(Checks))]
    public async Task Reference_client_check_passes(string name, string expected, string[] args)
    {
        var result = await PythonRpcClient.RunAsync(broker.Url, _topic, args);
        result.Output.Should().MatchRegex(expected, $"check {name} (stderr: {result.Stderr})");
    }

    [Fact]
    public async Task Cast_and_fanout_are_run_once_and_recorded()
    {
        (await PythonRpcClient.RunAsync(broker.Url, _topic, "--cast", "--method", "record", "--args", """{"value": "c"}"""))
            .Output.Should().Contain("\"sent\": true");
        (await PythonRpcClient.RunAsync(broker.Url, _topic, "--fanout", "--method", "record", "--args", """{"value": "f"}"""))
            .Output.Should().Contain("\"sent\": true");
        await Task.Delay(500, TestContext.Current.CancellationToken);
        var recorded = await PythonRpcClient.RunAsync(broker.Url, _topic, "--server", "s1", "--method", "recorded");
        recorded.Output.Should().Be("""["c", "f"]""");
    }
}
