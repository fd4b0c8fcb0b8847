using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Trove.Guest.Agent.Configuration;
using Trove.Guest.Agent.ObjectStorage;
using Trove.Guest.Messaging.Protocol;
using Trove.Guest.Messaging.Server;

namespace Trove.Guest.Agent.Managers.Mysql;

/// <summary>
/// Trove's guest logs for MySQL/MariaDB (guest-contract §2.10): the USER logs <c>general</c> and <c>slow_query</c> can be
/// enabled and disabled (an override file in <c>conf.d</c>, and the same values set live); every log can be published
/// to the user's Swift (whole lines, in parts of at most <c>guest_log_limit</c> bytes, with Trove's metafile) and
/// discarded again.
/// </summary>
public sealed class MysqlGuestLogs(AgentOptions options, MysqlConfigFiles files, Func<MysqlAdmin> admin)
{
    private sealed record LogDefinition(string Name, string Type, string File);

    private string DataDir => Path.Combine(options.Datastore.MountPoint, "data");

    private IReadOnlyList<LogDefinition> Definitions =>
    [
        new("general", "USER", Path.Combine(DataDir, $"{options.DatastoreManager}-general.log")),
        new("slow_query", "USER", Path.Combine(DataDir, $"{options.DatastoreManager}-slow_query.log")),
        new("error", "SYS", Path.Combine(options.Guest.StateDir, "mysqld.err")),
        new("guest", "SYS", ""),
    ];

    private static readonly string[] ExposedToUsers = ["general", "slow_query"];

    public JsonArray List(bool isAdmin) =>
        new(Definitions.Where(d => isAdmin || ExposedToUsers.Contains(d.Name)).Select(d => (JsonNode?)Info(d)).ToArray());

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(5) };

    public async Task<JsonObject> ActionAsync(string name, bool enable, bool disable, bool publish, bool discard, JsonObject context, CancellationToken ct)
    {
        var log = Definitions.FirstOrDefault(d => d.Name == name)
            ?? throw new RpcFailureException("BadRequest", "trove.common.exception", $"Unknown log '{name}'");
        if (enable && disable)
            throw new RpcFailureException("BadRequest", "trove.common.exception", "Cannot enable and disable log in the same call");
        if (log.Type == "SYS" && (enable || disable))
            throw new RpcFailureException("BadRequest", "trove.common.exception", $"The '{name}' log is a system log: it can only be published");
        if (enable || disable)
        {
            var settings = enable ? EnableSettings(log) : new Dictionary<string, string> { [$"{log.Name}_log"] = "off" };
            files.RemoveOverride("10-system", $"{(enable ? "disable" : "enable")}_{log.Name}_log");
            files.WriteOverride("10-system", $"{(enable ? "enable" : "disable")}_{log.Name}_log", settings);
            foreach (var (key, value) in settings)
                await admin().SetGlobalAsync(key, double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? value : MysqlNames.Literal(value), ct).ConfigureAwait(false);
        }
        // Publishing a USER log that is off switches it on first, as Trove does.
        if (publish && !disable && log.Type == "USER" && !files.HasOverride("10-system", $"enable_{log.Name}_log"))
            return await ActionAsync(name, enable: true, disable: false, publish: true, discard, context, ct).ConfigureAwait(false);
        if (discard) await DiscardAsync(log, SwiftClient.FromContext(Http, context, options), ct).ConfigureAwait(false);
        if (publish) await PublishAsync(log, SwiftClient.FromContext(Http, context, options), ct).ConfigureAwait(false);
        return Info(log);
    }

    private string Prefix(LogDefinition log) => $"{options.GuestId}/{options.DatastoreManager}-{log.Name}/";
    private string MetafileName(LogDefinition log) => $"{options.GuestId}/{options.DatastoreManager}-{log.Name}_metafile";
    private string PublishedStateFile(LogDefinition log) => Path.Combine(options.Guest.StateDir, "guest_logs", log.Name + ".published");

    /// <summary>
    /// Uploads what was not published yet: parts of whole lines named <c>log-&lt;UTC timestamp&gt;</c>, then the metafile
    /// with the published size and the digest of the first line. A file that shrank or whose first line changed was
    /// rotated: its old parts are deleted and it is published from the start.
    /// </summary>
    private async Task PublishAsync(LogDefinition log, SwiftClient swift, CancellationToken ct)
    {
        if (log.File.Length == 0 || !File.Exists(log.File))
            throw new RpcFailureException("GuestError", "trove.common.exception", $"the {log.Name} log has no file to publish yet");
        var container = options.GuestLogContainerName;
        await swift.EnsureContainerAsync(container, ct).ConfigureAwait(false);
        var meta = await swift.GetObjectAsync(container, MetafileName(log), ct).ConfigureAwait(false) is { } bytes
            ? JsonNode.Parse(bytes) as JsonObject
            : null;
        long published = meta?["log_size"]?.GetValue<long>() ?? 0;

        await using var stream = new FileStream(log.File, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var size = stream.Length;
        var digest = FirstLineDigest(stream);
        if (size < published || meta?["log_header_digest"]?.GetValue<string>() is { } oldDigest && oldDigest != digest)
        {
            await DeletePartsAsync(swift, container, Prefix(log), ct).ConfigureAwait(false);
            published = 0;
        }

        var buffer = new byte[options.GuestLogLimit];
        while (published < size)
        {
            stream.Position = published;
            var read = await stream.ReadAtLeastAsync(buffer, (int)Math.Min(buffer.Length, size - published), throwOnEndOfStream: false, ct).ConfigureAwait(false);
            var end = Array.LastIndexOf(buffer, (byte)'\n', read - 1) + 1;
            if (end == 0) end = read == buffer.Length ? read : 0; // a single line longer than a part is cut; a partial last line waits
            if (end == 0) break;
            var part = buffer.AsSpan(0, end).ToArray();
            var lines = part.Count(b => b == (byte)'\n');
            var name = Prefix(log) + "log-" + DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture);
            await swift.PutObjectAsync(container, name, part, new Dictionary<string, string>
            {
                ["X-Delete-After"] = options.GuestLogExpiry.ToString(CultureInfo.InvariantCulture),
                ["X-Object-Meta-Lines"] = lines.ToString(CultureInfo.InvariantCulture),
            }, ct).ConfigureAwait(false);
            published += end;
        }

        var metafile = new JsonObject
        {
            ["log_name"] = log.Name,
            ["log_type"] = log.Type,
            ["log_file"] = log.File,
            ["log_size"] = published,
            ["log_header_digest"] = digest,
        };
        await swift.PutObjectAsync(container, MetafileName(log), Encoding.UTF8.GetBytes(PythonJson.Dumps(metafile)),
            new Dictionary<string, string> { ["X-Delete-After"] = options.GuestLogExpiry.ToString(CultureInfo.InvariantCulture) }, ct).ConfigureAwait(false);
        SavePublished(log, published);
    }

    private async Task DiscardAsync(LogDefinition log, SwiftClient swift, CancellationToken ct)
    {
        await DeletePartsAsync(swift, options.GuestLogContainerName, Prefix(log), ct).ConfigureAwait(false);
        await swift.DeleteObjectAsync(options.GuestLogContainerName, MetafileName(log), ct).ConfigureAwait(false);
        SavePublished(log, 0);
    }

    private static async Task DeletePartsAsync(SwiftClient swift, string container, string prefix, CancellationToken ct)
    {
        foreach (var name in await swift.ListAsync(container, prefix, ct).ConfigureAwait(false))
            await swift.DeleteObjectAsync(container, name, ct).ConfigureAwait(false);
    }

    private static string FirstLineDigest(FileStream stream)
    {
        var first = new List<byte>();
        stream.Position = 0;
        int b;
        while ((b = stream.ReadByte()) >= 0 && b != '\n') first.Add((byte)b);
        return Convert.ToHexStringLower(MD5.HashData(first.ToArray()));
    }

    private void SavePublished(LogDefinition log, long published)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PublishedStateFile(log))!);
        File.WriteAllText(PublishedStateFile(log), published.ToString(CultureInfo.InvariantCulture));
    }

    private long Published(LogDefinition log) =>
        File.Exists(PublishedStateFile(log)) && long.TryParse(File.ReadAllText(PublishedStateFile(log)), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private Dictionary<string, string> EnableSettings(LogDefinition log) => log.Name == "general"
        ? new() { ["general_log"] = "on", ["general_log_file"] = log.File, ["log_output"] = "file" }
        : new() { ["slow_query_log"] = "on", ["slow_query_log_file"] = log.File, ["long_query_time"] = "1.0" };

    private JsonObject Info(LogDefinition log)
    {
        var size = log.File.Length > 0 && File.Exists(log.File) ? new FileInfo(log.File).Length : 0;
        var published = Math.Min(Published(log), size);
        var status = published > 0 ? (size > published ? "Partial" : "Published")
            : log.Type == "SYS" ? (log.File.Length > 0 && File.Exists(log.File) ? "Ready" : "Unavailable")
            : files.HasOverride("10-system", $"enable_{log.Name}_log") ? "Enabled" : "Disabled";
        return new JsonObject
        {
            ["name"] = log.Name,
            ["type"] = log.Type,
            ["status"] = status,
            ["published"] = published,
            ["pending"] = size - published,
            ["container"] = published > 0 ? options.GuestLogContainerName : "None",
            ["prefix"] = published > 0 ? Prefix(log) : "None",
            ["metafile"] = $"{options.GuestId}/{options.DatastoreManager}-{log.Name}_metafile",
        };
    }
}
