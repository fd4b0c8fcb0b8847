using System.CommandLine;
using Trove.Guest.ImageBuilder.Registration;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// <c>register IMAGE --glance-url URL --datastore NAME --datastore-version V [--token T] [--name N] [--manager M]
/// [--trove-manage CMD | --no-trove-manage]</c>: the image into Glance, the version into Trove's datastore tables.
/// </summary>
public static class RegisterCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = new Argument<string>("IMAGE") { Description = "the image file (qcow2, raw, vhdx, ...); an SBOM beside it (NAME.spdx.json) is recorded too" };
        var glanceUrl = new Option<string>("--glance-url") { Required = true, Description = "Glance's endpoint, e.g. http://controller:9292" };
        var datastore = new Option<string>("--datastore") { Required = true, Description = "the datastore, e.g. mysql, mariadb, postgresql" };
        var version = new Option<string>("--datastore-version") { Required = true, Description = "the datastore version's name, e.g. 8.0" };
        var token = new Option<string?>("--token") { Description = "a Keystone token for Glance (sent as X-Auth-Token, never printed); $OS_AUTH_TOKEN when not given, which keeps it out of argv" };
        var name = new Option<string?>("--name") { Description = "the image's name in Glance (default trove-guest-DATASTORE-VERSION)" };
        var manager = new Option<string?>("--manager") { Description = "the guest agent manager for the version (default: the datastore's name, as Trove names its managers)" };
        var troveManage = new Option<string?>("--trove-manage") { Description = "the trove-manage command, with any leading arguments, split at spaces (default trove-manage)" };
        var noTroveManage = new Option<bool>("--no-trove-manage") { Description = "only upload to Glance; leave Trove's datastore tables alone" };
        var command = new Command("register", "upload an image to Glance (once per content) and register it as a Trove datastore version")
        {
            image, glanceUrl, datastore, version, token, name, manager, troveManage, noTroveManage,
        };
        command.SetAction(async (parse, ct) =>
        {
            var usage = Validate(parse.GetValue(glanceUrl)!, parse.GetValue(datastore)!, parse.GetValue(version)!, parse.GetValue(troveManage), parse.GetValue(noTroveManage), out var url);
            if (usage is not null)
            {
                await stderr.WriteLineAsync($"trove-guest-image: register: {usage}").ConfigureAwait(false);
                return ImageCli.Usage;
            }
            var request = new RegisterRequest
            {
                ImagePath = parse.GetValue(image)!, GlanceUrl = url!, Datastore = parse.GetValue(datastore)!, Version = parse.GetValue(version)!,
                Token = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("OS_AUTH_TOKEN"), Name = parse.GetValue(name), Manager = parse.GetValue(manager),
                TroveManage = parse.GetValue(noTroveManage) ? null
                    : (parse.GetValue(troveManage) ?? "trove-manage").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            // An upload cut off by Ctrl-C or a plain kill would leave a queued image behind.
            using var interruption = new Interruption(ct);
            try
            {
                var result = await new ImageRegistration(request, stdout).RunAsync(interruption.Token).ConfigureAwait(false);
                await stdout.WriteLineAsync($"image {result.ImageId} ({result.ImageName}), {(result.Reused ? "already in Glance" : "uploaded")}").ConfigureAwait(false);
                return ImageCli.Ok;
            }
            catch (RegistrationException e)
            {
                await stderr.WriteLineAsync($"trove-guest-image: register: {e.Message}").ConfigureAwait(false);
                return ImageCli.Failed;
            }
            catch (OperationCanceledException e)
            {
                await stderr.WriteLineAsync($"trove-guest-image: register: cancelled: {e.Message}").ConfigureAwait(false);
                return ImageCli.Failed;
            }
        });
        return command;
    }

    private static string? Validate(string glanceUrl, string datastore, string version, string? troveManage, bool noTroveManage, out Uri? url)
    {
        url = null;
        if (!Uri.TryCreate(glanceUrl, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
            return $"--glance-url '{glanceUrl}' is not an http(s) URL";
        url = parsed;
        if (string.IsNullOrWhiteSpace(datastore)) return "--datastore is empty";
        // trove-manage takes the image tags as one comma-separated argument.
        if (datastore.Contains(',', StringComparison.Ordinal)) return $"--datastore '{datastore}' contains a comma";
        if (string.IsNullOrWhiteSpace(version)) return "--datastore-version is empty";
        if (noTroveManage && troveManage is not null) return "--trove-manage and --no-trove-manage contradict each other";
        if (troveManage is not null && string.IsNullOrWhiteSpace(troveManage)) return "--trove-manage is empty";
        return null;
    }
}
