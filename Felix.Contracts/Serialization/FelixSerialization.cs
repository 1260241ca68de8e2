using System.Text.Json;
using System.Text.Json.Serialization;
using Felix.Contracts.Events;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Felix.Contracts.Serialization;

/// <summary>Serializer settings shared by the server and its .NET clients.</summary>
public static class FelixSerialization
{
    /// <summary>Adds what Felix contracts need to hub JSON options (camelCase, polymorphic events).</summary>
    public static JsonSerializerOptions AddFelixConverters(this JsonSerializerOptions options)
    {
        if (!options.Converters.OfType<WorkflowEventJsonConverter>().Any())
        {
            options.Converters.Add(new WorkflowEventJsonConverter());
        }

        return options;
    }

    /// <summary>JSON options of the raw WebSocket protocol: snake_case, absent values left out.</summary>
    public static JsonSerializerOptions CreateSnakeCaseOptions() =>
        ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: true);

    /// <summary>
    /// Applies the snake_case conventions of the REST API (which writes nulls, as the original's responses do) and the raw
    /// protocol (which leaves them out) to existing options.
    /// </summary>
    public static JsonSerializerOptions ConfigureSnakeCase(JsonSerializerOptions options, bool omitNulls)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = omitNulls ? JsonIgnoreCondition.WhenWritingNull : JsonIgnoreCondition.Never;
        return options.AddFelixConverters();
    }

    /// <summary>Puts the Felix resolver in front of the given MessagePack options' resolver.</summary>
    public static MessagePackSerializerOptions WithFelixResolver(this MessagePackSerializerOptions options) =>
        options.WithResolver(CompositeResolver.Create(
            new IMessagePackFormatter[] { WorkflowEventFormatter.Instance },
            new IFormatterResolver[] { options.Resolver }));

    /// <summary>Standard MessagePack options with the Felix resolver (for tests and tools outside SignalR).</summary>
    public static readonly MessagePackSerializerOptions MessagePackOptions =
        MessagePackSerializerOptions.Standard.WithFelixResolver();

}
