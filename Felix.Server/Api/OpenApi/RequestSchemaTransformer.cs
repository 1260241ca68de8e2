using Felix.Contracts.Dtos;
using Felix.Server.AgUi;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// Schemas as the server validates them. Numbers are integers or numbers only: the web JSON defaults also read them
/// from strings, which the generated schema shows as <c>[integer, string]</c> with a pattern, and a generated client
/// would then send strings. <see cref="WorkflowRequest"/> gets the bounds <see cref="WorkflowRequestValidator"/> checks,
/// and <see cref="RunAgentInput"/> the fields <see cref="AgUiRunRequest"/> requires: its C# properties are nullable
/// only so that a missing field is answered with 422 naming it, not 400.
/// </summary>
internal sealed class RequestSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && (type & JsonSchemaType.String) != 0 && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonTypeInfo.Type == typeof(WorkflowRequest) && schema.Properties is { } properties)
        {
            schema.Required = new HashSet<string> { "task" };
            if (properties.TryGetValue("task", out var task) && task is OpenApiSchema taskSchema)
            {
                taskSchema.Type = JsonSchemaType.String;
                taskSchema.MinLength = 1;
                taskSchema.MaxLength = WorkflowRequestValidator.MaxTaskLength;
            }

            if (properties.TryGetValue("max_steps", out var maxSteps) && maxSteps is OpenApiSchema maxStepsSchema)
            {
                maxStepsSchema.Type = JsonSchemaType.Integer | JsonSchemaType.Null;
                maxStepsSchema.Pattern = null;
                maxStepsSchema.Minimum = "1";
                maxStepsSchema.Maximum = WorkflowRequestValidator.MaxStepsLimit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        if (context.JsonTypeInfo.Type == typeof(RunAgentInput) && schema.Properties is { } input)
        {
            schema.Required = new HashSet<string> { "threadId", "runId", "messages" };
            foreach (var id in new[] { "threadId", "runId" })
            {
                if (input.TryGetValue(id, out var idSchema) && idSchema is OpenApiSchema idString)
                {
                    idString.Type = JsonSchemaType.String;
                    idString.MinLength = 1;
                    idString.MaxLength = AgUiRunRequest.MaxIdLength;
                }
            }

            if (input.TryGetValue("messages", out var messages) && messages is OpenApiSchema messageList)
            {
                messageList.Type = JsonSchemaType.Array;
                messageList.MinItems = 1;
            }
        }

        return Task.CompletedTask;
    }
}
