using System.Text.Json;
using Felix.Contracts.Dtos;
using Felix.Contracts.Serialization;
using FluentValidation;

namespace Felix.Server.AgUi;

/// <summary>
/// What a run asks of Felix, read from a <see cref="RunAgentInput"/>: the thread, the last user message (the task; its id
/// names the workflow that answers it), the workflow request, validated as <c>POST /api/v1/workflows</c> validates it,
/// and the answers to the interrupts an earlier run ended with.
/// </summary>
internal sealed record AgUiRunRequest(
    string ThreadId, string RunId, string MessageId, string? PreviousMessageId, WorkflowRequest Workflow, bool CancelOnDisconnect,
    IReadOnlyDictionary<string, string> HeldMessages, IReadOnlyList<AgUiResume> Resume)
{
    public const int MaxIdLength = 200;
    public const string CancelOnDisconnectProperty = "cancel_on_disconnect";

    private static readonly JsonSerializerOptions SnakeCase =
        FelixSerialization.ConfigureSnakeCase(new JsonSerializerOptions(JsonSerializerDefaults.Web), omitNulls: false);

    /// <summary>The request, or the problems with the input keyed by the field they concern.</summary>
    public static AgUiRunRequest? Read(
        RunAgentInput input, IValidator<WorkflowRequest> validator, IValidator<ApprovalDecision> decisions, out Dictionary<string, string[]> errors)
    {
        errors = [];
        RequireId(input.ThreadId, "threadId", errors);
        RequireId(input.RunId, "runId", errors);
        // A JSON null in the list is read as a null entry: refused like any other malformed field, never dereferenced.
        var messages = input.Messages ?? [];
        var users = messages.Where(m => m?.Role == "user").ToList();
        if (messages.Any(m => m is null))
        {
            errors["messages"] = ["messages must be a list of message objects (id, role, content)."];
        }
        else if (users.Count == 0 || string.IsNullOrEmpty(users[^1].Id))
        {
            errors["messages"] = ["messages must end the conversation with a user message (with an id): it is the task."];
        }

        var resume = AgUiResume.Read(input.Resume, decisions, errors);
        var workflow = ReadForwardedProps(input.ForwardedProps, errors, out var cancelOnDisconnect);
        if (errors.Count > 0 || workflow is null)
        {
            return null;
        }

        workflow.Task = users[^1].Text;
        foreach (var failure in validator.Validate(workflow).Errors)
        {
            var field = failure.PropertyName == "task" ? "messages" : $"forwardedProps.{failure.PropertyName}";
            errors[field] = [.. errors.GetValueOrDefault(field, []), failure.ErrorMessage];
        }

        return errors.Count > 0
            ? null
            : new AgUiRunRequest(input.ThreadId!, input.RunId!, users[^1].Id!, users.Count > 1 ? users[^2].Id : null, workflow, cancelOnDisconnect,
                Held(input.Messages!), resume);
    }

    /// <summary>The assistant and reasoning texts the client holds, by message id: what a run that resumes need not send.</summary>
    private static Dictionary<string, string> Held(List<AgUiMessage> messages)
    {
        var held = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages.Where(m => m.Role is "assistant" or "reasoning" && !string.IsNullOrEmpty(m.Id)))
        {
            held[message.Id!] = message.Text;
        }

        return held;
    }

    private static void RequireId(string? id, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            errors[field] = [$"{field} is required and at most {MaxIdLength} characters long."];
        }
    }

    private static WorkflowRequest? ReadForwardedProps(JsonElement? props, Dictionary<string, string[]> errors, out bool cancelOnDisconnect)
    {
        cancelOnDisconnect = false;
        if (props is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return new WorkflowRequest();
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            errors["forwardedProps"] = ["forwardedProps must be an object of workflow request fields (max_steps, ...)."];
            return null;
        }

        if (value.TryGetProperty(CancelOnDisconnectProperty, out var cancel))
        {
            if (cancel.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                errors[$"forwardedProps.{CancelOnDisconnectProperty}"] = [$"{CancelOnDisconnectProperty} must be true or false."];
                return null;
            }

            cancelOnDisconnect = cancel.GetBoolean();
        }

        try
        {
            return value.Deserialize<WorkflowRequest>(SnakeCase) ?? new WorkflowRequest();
        }
        catch (JsonException ex)
        {
            var field = ex.Path is { Length: > 2 } path ? $"forwardedProps.{path.TrimStart('$', '.')}" : "forwardedProps";
            errors[field] = [$"{field} has the wrong type for a workflow request field."];
            return null;
        }
    }
}
