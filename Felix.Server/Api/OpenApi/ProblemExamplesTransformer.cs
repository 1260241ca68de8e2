using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// Puts the declared examples on the operation: the problem examples (<see cref="ProblemExample"/>) on its error
/// responses, and the request and success bodies (<see cref="BodyExample"/>).
/// </summary>
internal sealed class ProblemExamplesTransformer(IOptions<WorkflowOptions> workflowOptions) : IOpenApiOperationTransformer
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

        // One status can stand for several problems (409: the approval was decided, or its workflow finished); a client
        // must handle each, so each is shown as a named example rather than one hiding the others.
        foreach (var examples in context.Description.ActionDescriptor.EndpointMetadata.OfType<ProblemExample>().DistinctBy(e => (e.Status, e.Title)).GroupBy(e => e.Status))
        {
            var key = examples.Key.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.TryGetValue(key, out var declared) is not true || declared is not OpenApiResponse response)
            {
                continue;
            }

            response.Description = string.Join(" or ", examples.Select(e => e.Title));
            if (response.Content?.TryGetValue(ProblemResponses.ContentType, out var media) is not true || media is null)
            {
                continue;
            }

            if (examples.Count() == 1)
            {
                media.Example = Body(examples.First());
            }
            else
            {
                media.Examples = examples.ToDictionary(
                    e => e.Title,
                    e => (IOpenApiExample)new OpenApiExample { Summary = e.Title, Value = Body(e) });
            }
        }

        return Task.CompletedTask;
    }

    private JsonObject Body(ProblemExample example)
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
            body["detail"] = example.Detail.Replace(
                ProblemResponses.RetryAfterSeconds,
                workflowOptions.Value.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                StringComparison.Ordinal);
        }

        body["trace_id"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        return body;
    }
}
