using System.Text.Json;
using System.Text.Json.Serialization;

namespace Trove.Guest.TaskManager.Compute;

/// <summary><see cref="ServerInfo"/> as stored in <c>instances.compute_json</c>: snake_case, source-generated (AOT-safe).</summary>
public static class ServerInfoJson
{
    public static string Serialize(ServerInfo server) => JsonSerializer.Serialize(server, ServerInfoJsonContext.Default.ServerInfo);

    public static ServerInfo Deserialize(string json) =>
        JsonSerializer.Deserialize(json, ServerInfoJsonContext.Default.ServerInfo) ?? throw new JsonException("compute_json is null");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ServerInfo))]
internal sealed partial class ServerInfoJsonContext : JsonSerializerContext;
