using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts.Serialization;

namespace Felix.Server.Api.OpenApi;

/// <summary>Examples serialized as the REST API serializes its bodies (snake_case, nulls written).</summary>
internal static class OpenApiJson
{
    private static readonly JsonSerializerOptions Rest =
        FelixSerialization.ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: false);

    public static JsonNode ToNode(object value) => JsonSerializer.SerializeToNode(value, value.GetType(), Rest)!;
}
