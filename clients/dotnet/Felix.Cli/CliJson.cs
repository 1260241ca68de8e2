using System.Text.Json;
using Felix.Client;
using Felix.Contracts.Serialization;

namespace Felix.Cli;

/// <summary>
/// What <c>--json</c> writes. Events as the hubs send them to every client (camelCase, with <c>type</c>); workflows and
/// lists as the REST API answers them (snake_case), so a script sees the shapes the docs describe.
/// </summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Events = new JsonSerializerOptions(JsonSerializerDefaults.Web).AddFelixConverters();

    public static readonly JsonSerializerOptions Rest = FelixSerialization.ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: false);

    public static void WriteLine<T>(TextWriter output, T value, JsonSerializerOptions options) =>
        output.WriteLine(JsonSerializer.Serialize(value, options));
}
