using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;
using Trove.Guest.Messaging.Client;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Serialization;

namespace Trove.Guest.Cli.Commands;

/// <summary>
/// <c>trove-guest rpc call|cast</c>: send one oslo.messaging request, the way an operator pokes a guest agent.
/// A call prints its result as JSON on stdout (exit 0); a remote failure prints the failure as JSON on stderr (exit 1);
/// a timeout exits 2.
/// </summary>
internal static class RpcCommand
{
    public const string TransportUrlVariable = "TROVE_TRANSPORT_URL";
    public const string EncryptionKeyVariable = "TROVE_RPC_ENCRYPTION_KEY";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var rpc = new Command("rpc", "Send oslo.messaging RPC requests to a guest agent or any oslo service");
        rpc.Subcommands.Add(Build("call", "Call a method and print its result", isCall: true, stdout, stderr));
        rpc.Subcommands.Add(Build("cast", "Send a method without waiting for a result", isCall: false, stdout, stderr));
        return rpc;
    }

    private static Command Build(string name, string description, bool isCall, TextWriter stdout, TextWriter stderr)
    {
        var url = new Option<string?>("--transport-url") { Description = $"rabbit://user:pass@host:port/vhost (default: ${TransportUrlVariable}, which keeps the password out of argv)" };
        var exchange = new Option<string>("--exchange") { Description = "control exchange", DefaultValueFactory = _ => "openstack" };
        var topic = new Option<string>("--topic") { Description = "topic, e.g. guestagent.<instance id>", Required = true };
        var server = new Option<string?>("--server") { Description = "send to this server only (<topic>.<server>)" };
        var method = new Option<string>("--method") { Description = "method name", Required = true };
        var args = new Option<string>("--args") { Description = "keyword arguments as a JSON object", DefaultValueFactory = _ => "{}" };
        var context = new Option<string>("--context") { Description = "request context as a JSON object", DefaultValueFactory = _ => "{}" };
        var version = new Option<string?>("--version") { Description = "API version to ask for, e.g. 1.0" };
        var ns = new Option<string?>("--namespace") { Description = "endpoint namespace" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for the broker and the reply", DefaultValueFactory = _ => 60 };
        var monitor = new Option<int?>("--call-monitor-timeout") { Description = "ask for server heartbeats; fail when they stop for this many seconds" };
        var key = new Option<string?>("--encryption-key") { Description = $"the instance's instance_rpc_encr_key (Trove's SecureSerializer); prefer --encryption-key-file or ${EncryptionKeyVariable}" };
        var keyFile = new Option<FileInfo?>("--encryption-key-file") { Description = "read the encryption key from this file" };
        var authenticated = new Option<bool>("--authenticated") { Description = "use the authenticated AES-GCM format (both ends Trove.Guest) instead of Trove's CBC" };
        var fanout = new Option<bool>("--fanout") { Description = "cast to every server of the topic" };
        var verbose = new Option<bool>("--verbose") { Description = "log transport activity on stderr" };

        var command = new Command(name, description)
        {
            url, exchange, topic, server, method, args, context, version, ns, timeout, key, keyFile, authenticated, verbose,
        };
        if (isCall) command.Options.Add(monitor);
        else command.Options.Add(fanout);

        command.SetAction(async (parse, ct) =>
        {
            var transportUrl = parse.GetValue(url) ?? Environment.GetEnvironmentVariable(TransportUrlVariable);
            if (string.IsNullOrEmpty(transportUrl))
                return await UsageAsync(stderr, $"--transport-url or ${TransportUrlVariable} is required").ConfigureAwait(false);
            if (!TryParseObject(parse.GetValue(args)!, out var argsObject))
                return await UsageAsync(stderr, "--args must be a JSON object").ConfigureAwait(false);
            if (!TryParseObject(parse.GetValue(context)!, out var contextObject))
                return await UsageAsync(stderr, "--context must be a JSON object").ConfigureAwait(false);
            var seconds = parse.GetValue(timeout);
            if (seconds <= 0) return await UsageAsync(stderr, "--timeout must be positive").ConfigureAwait(false);

            var secret = parse.GetValue(key)
                ?? (parse.GetValue(keyFile) is { } file ? (await File.ReadAllTextAsync(file.FullName, ct).ConfigureAwait(false)).Trim() : null)
                ?? Environment.GetEnvironmentVariable(EncryptionKeyVariable);
            IRpcSerializer serializer = string.IsNullOrEmpty(secret) ? PlainSerializer.Instance
                : parse.GetValue(authenticated) ? new SecureSerializer(new AesGcmCipher(secret))
                : SecureSerializer.ForTroveKey(secret);

            using var logs = new LoggerConfiguration()
                .MinimumLevel.Is(parse.GetValue(verbose) ? Serilog.Events.LogEventLevel.Debug : Serilog.Events.LogEventLevel.Error)
                .WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose)
                .CreateLogger();
            using var loggerFactory = new SerilogLoggerFactory(logs);
            var logger = loggerFactory.CreateLogger("trove-guest.rpc");

            var target = new RpcTarget(parse.GetValue(topic)!, parse.GetValue(server), parse.GetValue(version), parse.GetValue(ns),
                Fanout: !isCall && parse.GetValue(fanout));
            var limit = TimeSpan.FromSeconds(seconds);
            RpcClient client;
            using (var connectLimit = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connectLimit.CancelAfter(limit);
                try
                {
                    client = await RpcClient.ConnectAsync(
                        new RpcClientOptions { TransportUrl = transportUrl, Exchange = parse.GetValue(exchange)!, DefaultTimeout = limit },
                        serializer, logger, connectLimit.Token).ConfigureAwait(false);
                }
                catch (FormatException e)
                {
                    return await UsageAsync(stderr, e.Message).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    await stderr.WriteLineAsync(ErrorJson("TransportError", $"could not connect to the broker within {seconds} s: {e.Message}")).ConfigureAwait(false);
                    return CliApp.TransportError;
                }
            }

            await using (client.ConfigureAwait(false))
            {
                try
                {
                    if (!isCall)
                    {
                        using var sendLimit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        sendLimit.CancelAfter(limit);
                        await client.CastAsync(target, parse.GetValue(method)!, argsObject, contextObject, sendLimit.Token).ConfigureAwait(false);
                        await stdout.WriteLineAsync(PythonJson.Dumps(new JsonObject { ["sent"] = true })).ConfigureAwait(false);
                        return CliApp.Ok;
                    }
                    var result = await client.CallAsync(target, parse.GetValue(method)!, argsObject,
                        new RpcCallOptions { Timeout = limit, CallMonitorTimeout = parse.GetValue(monitor), Context = contextObject }, ct).ConfigureAwait(false);
                    await stdout.WriteLineAsync(PythonJson.Dumps(result)).ConfigureAwait(false);
                    return CliApp.Ok;
                }
                catch (RemoteErrorException e)
                {
                    await stderr.WriteLineAsync(e.Failure.ToJson()).ConfigureAwait(false);
                    return CliApp.RemoteFailure;
                }
                catch (MessagingTimeoutException e)
                {
                    await stderr.WriteLineAsync(ErrorJson("MessagingTimeout", e.Message)).ConfigureAwait(false);
                    return CliApp.Timeout;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await stderr.WriteLineAsync(ErrorJson("MessagingTimeout", $"could not publish within {seconds} s")).ConfigureAwait(false);
                    return CliApp.Timeout;
                }
            }
        });
        return command;
    }

    private static string ErrorJson(string className, string message) =>
        PythonJson.Dumps(new JsonObject { ["class"] = className, ["message"] = message });

    private static async Task<int> UsageAsync(TextWriter stderr, string message)
    {
        await stderr.WriteLineAsync($"trove-guest: {message}").ConfigureAwait(false);
        return CliApp.Usage;
    }

    private static bool TryParseObject(string text, out JsonObject value)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject o)
            {
                value = o;
                return true;
            }
        }
        catch (JsonException)
        {
        }
        value = new JsonObject();
        return false;
    }
}
