using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// Endpoint metadata: the range (or the values) the handler accepts for one query parameter, declared beside the route
/// with the constants its validation uses, so the document says what answers 422 instead of only its type.
/// </summary>
internal sealed record QueryParameterRule(string Name, long? Minimum, long? Maximum, IReadOnlyList<string>? Values);

internal static class QueryParameterRules
{
    /// <summary>The parameter must be at least <paramref name="minimum"/> and, when given, at most <paramref name="maximum"/>.</summary>
    public static RouteHandlerBuilder WithQueryRange(this RouteHandlerBuilder builder, string name, long minimum, long? maximum = null) =>
        builder.WithMetadata(new QueryParameterRule(name, minimum, maximum, null));

    /// <summary>The parameter, when given, must be one of <paramref name="values"/>.</summary>
    public static RouteHandlerBuilder WithQueryValues(this RouteHandlerBuilder builder, string name, IReadOnlyList<string> values) =>
        builder.WithMetadata(new QueryParameterRule(name, null, null, values));
}

/// <summary>Writes each <see cref="QueryParameterRule"/> into its parameter's schema: <c>minimum</c>, <c>maximum</c>, <c>enum</c>.</summary>
internal sealed class QueryParameterTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var rule in context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryParameterRule>())
        {
            var parameter = operation.Parameters?.FirstOrDefault(p => p.In == ParameterLocation.Query && p.Name == rule.Name);
            if (parameter?.Schema is not OpenApiSchema schema)
            {
                throw new InvalidOperationException($"No query parameter '{rule.Name}' to describe on {context.Description.RelativePath}.");
            }

            if (rule.Minimum is { } minimum)
            {
                schema.Minimum = minimum.ToString(CultureInfo.InvariantCulture);
            }

            if (rule.Maximum is { } maximum)
            {
                schema.Maximum = maximum.ToString(CultureInfo.InvariantCulture);
            }

            if (rule.Values is { } values)
            {
                schema.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
            }
        }

        return Task.CompletedTask;
    }
}
