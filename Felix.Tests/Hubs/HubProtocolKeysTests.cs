using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using MessagePack;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Hubs;

/// <summary>
/// A hub client sees the same object under JSON and MessagePack: every key of every event type, system event and hub DTO
/// is the same under both protocols, as the server configures them. Each instance has every property set, so a key that
/// only one protocol renames cannot hide behind a default value.
/// </summary>
public sealed class HubProtocolKeysTests
{
    /// <summary>Every event type, the system event, and the DTOs that travel in hub messages.</summary>
    private static readonly Type[] Covered =
        [.. EventTypes.All.Values, typeof(SystemEvent), typeof(WorkflowSubscription), typeof(EventStreamOptions)];

    public static TheoryData<string> HubTypes() => new(Covered.Select(t => t.FullName!));

    [Theory]
    [MemberData(nameof(HubTypes))]
    public async Task JsonAndMessagePackWriteTheSameKeys(string typeName)
    {
        await using var app = new FelixApplication();
        var json = app.Services.GetRequiredService<IOptions<JsonHubProtocolOptions>>().Value.PayloadSerializerOptions;
        var messagePack = app.Services.GetRequiredService<IOptions<MessagePackHubProtocolOptions>>().Value.SerializerOptions;
        var type = typeof(WorkflowEvent).Assembly.GetType(typeName, throwOnError: true)!;
        var instance = Populate(type, depth: 0);

        var asJson = JsonSerializer.SerializeToNode(instance, type, json)!;
        var asMessagePack = JsonNode.Parse(MessagePackSerializer.ConvertToJson(MessagePackSerializer.Serialize(type, instance, messagePack)))!;

        var jsonKeys = KeyPaths(asJson, "").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(jsonKeys);
        Assert.Equal(jsonKeys, KeyPaths(asMessagePack, "").Order(StringComparer.Ordinal));
    }

    /// <summary>Every key as a path from the root (<c>workflow.agents[].agentId</c>), so nested objects count too.</summary>
    private static IEnumerable<string> KeyPaths(JsonNode node, string prefix) => node switch
    {
        JsonObject obj => obj.SelectMany(p => KeyPaths(p.Value!, prefix + "." + p.Key).Prepend(prefix + "." + p.Key)),
        JsonArray array => array.SelectMany(item => KeyPaths(item!, prefix + "[]")).Distinct(),
        _ => [],
    };

    /// <summary>An instance with every settable property given a non-default value, collections with one element.</summary>
    private static object Populate(Type type, int depth)
    {
        if (type == typeof(WorkflowEvent))
        {
            type = typeof(WorkflowErrorEvent);
        }

        var instance = Activator.CreateInstance(type)!;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            property.SetValue(instance, Value(property.PropertyType, depth + 1));
        }

        return instance;
    }

    private static object? Value(Type type, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return "x";
        }

        if (type == typeof(bool))
        {
            return true;
        }

        if (type.IsPrimitive || type == typeof(decimal))
        {
            return Convert.ChangeType(1, type, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (type == typeof(DateTimeOffset))
        {
            return DateTimeOffset.UnixEpoch;
        }

        if (type.IsArray)
        {
            var array = Array.CreateInstance(type.GetElementType()!, 1);
            array.SetValue(Value(type.GetElementType()!, depth), 0);
            return array;
        }

        if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var arguments = type.GetGenericArguments();
            if (arguments.Length == 2)
            {
                var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(arguments))!;
                dictionary.Add(Value(arguments[0], depth)!, Value(arguments[1], depth));
                return dictionary;
            }

            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(arguments))!;
            list.Add(Value(arguments[0], depth));
            return list;
        }

        Assert.True(depth < 6, $"{type} nests too deep to populate");
        return Populate(type, depth);
    }
}
