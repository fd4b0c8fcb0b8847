using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using FluentAssertions;
using Trove.Guest.Cli;
using Trove.Guest.Messaging.Serialization;
using Trove.Guest.Messaging.Tests.Infrastructure;
using Trove.Guest.Testing;

namespace Trove.Guest.Messaging.Tests.Cli;

/// <summary><c>trove-guest rpc call|cast</c>: output and exit codes, against our server and the Python reference server.</summary>
public sealed class RpcCliTests(BrokerFixture broker)
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString().Trim(), stderr.ToString().Trim());
    }

    private string[] Base(string topic) => ["rpc", "call", "--transport-url", broker.Url, "--exchange", "trove", "--topic", topic];

    [Fact]
    public async Task The_trove_guest_executable_calls_the_python_reference_server()
    {
        var topic = BrokerFixture.NewTopic("cli");
        await using var python = await PythonRpcServer.StartAsync(broker.Url, topic, "s1");
        var exe = Path.Combine(AppContext.BaseDirectory, "trove-guest");
        File.Exists(exe).Should().BeTrue("the CLI ships as an executable named trove-guest");

        var ok = await CliWrap.Cli.Wrap(exe).WithArguments([.. Base(topic), "--method", "add", "--args", """{"a": 40, "b": 2}"""])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        (ok.ExitCode, ok.StandardOutput.Trim()).Should().Be((0, "42"));

        var failed = await CliWrap.Cli.Wrap(exe).WithArguments([.. Base(topic), "--method", "fail", "--args", """{"message": "boom"}"""])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        failed.ExitCode.Should().Be(1);
        var failure = JsonNode.Parse(failed.StandardError)!.AsObject();
        failure["class"]!.GetValue<string>().Should().Be("ValueError");
        failure["module"]!.GetValue<string>().Should().Be("builtins");
        failure["message"]!.GetValue<string>().Should().Be("boom");
        failed.StandardOutput.Should().BeEmpty();

        var slow = await CliWrap.Cli.Wrap(exe).WithArguments([.. Base(topic), "--method", "slow", "--args", """{"seconds": 3}""", "--timeout", "1"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        slow.ExitCode.Should().Be(2);
        slow.StandardError.Should().Contain("MessagingTimeout");
    }

    [Fact]
    public async Task Call_cast_and_fanout_against_our_server()
    {
        var topic = BrokerFixture.NewTopic("cli");
        await using var server = await CSharpServer.StartAsync(broker.Url, topic);
        (await RunAsync([.. Base(topic), "--server", "s1", "--method", "echo", "--args", """{"value": {"k": ["v", 1]}}""", "--version", "1.0"]))
            .Should().Be((0, """{"k": ["v", 1]}""", ""));
        (await RunAsync([.. Base(topic), "--method", "nope"])).Code.Should().Be(CliApp.RemoteFailure);
        (await RunAsync("rpc", "cast", "--transport-url", broker.Url, "--exchange", "trove", "--topic", topic, "--method", "record", "--args", """{"value": "c"}"""))
            .Should().Be((0, """{"sent": true}""", ""));
        (await RunAsync("rpc", "cast", "--transport-url", broker.Url, "--exchange", "trove", "--topic", topic, "--fanout", "--method", "record", "--args", """{"value": "f"}"""))
            .Code.Should().Be(0);
        await Task.Delay(300);
        server.Endpoints.Recorded.Select(v => v!.GetValue<string>()).Should().BeEquivalentTo("c", "f");
    }

    [Fact]
    public async Task Encrypted_calls_take_the_key_from_a_file_or_the_environment()
    {
        const string key = "cli-key-0123456789";
        var topic = BrokerFixture.NewTopic("cli");
        await using var server = await CSharpServer.StartAsync(broker.Url, topic, serializer: SecureSerializer.ForTroveKey(key));
        var keyFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(keyFile, key + "\n");
        try
        {
            (await RunAsync([.. Base(topic), "--method", "echo", "--args", """{"value": "secret"}""", "--encryption-key-file", keyFile]))
                .Should().Be((0, "\"secret\"", ""));
            var wrong = await RunAsync([.. Base(topic), "--method", "echo", "--args", """{"value": 1}""", "--encryption-key", "wrong"]);
            wrong.Code.Should().Be(CliApp.RemoteFailure);
            wrong.Err.Should().Contain("DecryptionError");
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Theory]
    [InlineData("--method", "echo")]
    [InlineData("--topic", "t", "--method", "echo", "--args", "[1]")]
    [InlineData("--topic", "t", "--method", "echo", "--timeout", "0")]
    [InlineData("--topic", "t", "--method", "echo", "--transport-url", "http://nope/")]
    public async Task Usage_errors_exit_64(params string[] args)
    {
        var (code, _, err) = await RunAsync(["rpc", "call", .. args, .. args.Contains("--transport-url") ? Array.Empty<string>() : ["--transport-url", broker.Url]]);
        code.Should().Be(CliApp.Usage);
        err.Should().StartWith("trove-guest: ");
    }

    [Fact]
    public async Task An_unreachable_broker_is_a_transport_error()
    {
        var port = FreePorts.Find();
        var (code, _, err) = await RunAsync("rpc", "call", "--transport-url", $"rabbit://guest:guest@127.0.0.1:{port}/", "--topic", "t", "--method", "echo", "--timeout", "2");
        code.Should().Be(CliApp.TransportError);
        err.Should().Contain("could not connect");
    }
}
