using System.Text.Json.Nodes;

namespace Trove.Guest.Agent.Backups.Storage;

/// <summary>
/// <c>&lt;object&gt;.meta.json</c>, for stores that cannot keep Trove's metadata on the object itself (the local
/// directory, and S3, where a multipart upload takes its metadata before the LSN is known): the checksum, the size
/// and the metadata. Written last, so a backup exists once its meta file does.
/// </summary>
internal static class BackupMetaFile
{
    public const string Suffix = ".meta.json";

    public static string Serialize(string checksum, long size, IReadOnlyDictionary<string, string> metadata)
    {
        var values = new JsonObject();
        foreach (var (k, v) in metadata) values[k] = v;
        return new JsonObject { ["checksum"] = checksum, ["size"] = size, ["metadata"] = values }.ToJsonString();
    }

    public static BackupObject Parse(string location, JsonNode? node)
    {
        var meta = node?.AsObject() ?? throw new InvalidDataException($"the metadata of {location} is empty");
        var metadata = (meta["metadata"] as JsonObject ?? []).ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "");
        return new BackupObject(location, meta["checksum"]!.GetValue<string>(), metadata);
    }
}
