using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// Puts the declared examples on the operation: the problem examples (<see cref="ProblemExample"/>) on its error
/// responses, and the request and success bodies (<see cref="BodyExample"/>).
/// </summary>
internal sealed class ProblemExamplesTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var example in context.Description.ActionDescriptor.EndpointMetadata.OfType<BodyExample>())
        {
            var content = example.Status is { } status
                ? (operation.Responses?.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var r) is true ? r.Content : null)
                : operation.RequestBody?.Content;
            foreach (var media in content?.Values ?? [])
            {
                media.Example = example.Body.DeepClone();
            }
        }

        foreach (var examples in context.Description.ActionDescriptor.EndpointMetadata.OfType<ProblemExample>().GroupBy(e => e.Status))
        {
            var key = examples.Key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.TryGetValue(key, out var declared) is not true || declared is not OpenApiResponse response)
            {
                continue;
            }

            var problems = examples.DistinctBy(e => e.Title).ToList();
            response.Description = string.Join("; ", problems.Select(e => e.Title));
            if (response.Content?.TryGetValue(ProblemResponses.ContentType, out var media) is not true || media is not OpenApiMediaType problemMedia)
            {
                continue;
            }

            if (problems is [var only])
            {
                problemMedia.Example = Body(only);
            }
            else
            {
                // One status, several meanings: a named example per title, so a client sees each problem it must handle.
                problemMedia.Examples = problems.ToDictionary(
                    e => e.Title, IOpenApiExample (e) => new OpenApiExample { Summary = e.Title, Value = Body(e) });
            }
        }

        return Task.CompletedTask;
    }

    private static JsonObject Body(ProblemExample example)
    {
        var body = new JsonObject
        {
            ["type"] = ProblemResponses.Types[example.Status],
            ["title"] = example.Title,
            ["status"] = example.Status,
        };
        if (example.Status == StatusCodes.Status422UnprocessableEntity)
        {
            body["errors"] = new JsonObject { [example.Field ?? "field"] = new JsonArray(example.Detail) };
        }
        else
        {
            body["detail"] = example.Detail;
        }

        body["trace_id"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        return body;
    }
}
