using System.Collections.Frozen;
using System.Text.Json;
using Felix.Contracts.Events;

namespace Felix.Contracts;

/// <summary>
/// The snake_case <c>type</c> names of workflow events, derived from the <see cref="IWorkflowClient"/> method names so the
/// hub method, the event type and the raw protocol can never drift apart.
/// </summary>
public static class EventTypes
{
    /// <summary><c>workflow_status</c></summary>
    public static readonly string WorkflowStatus = Snake(nameof(IWorkflowClient.WorkflowStatus));
    /// <summary><c>agent_spawned</c></summary>
    public static readonly string AgentSpawned = Snake(nameof(IWorkflowClient.AgentSpawned));
    /// <summary><c>agent_output</c></summary>
    public static readonly string AgentOutput = Snake(nameof(IWorkflowClient.AgentOutput));
    /// <summary><c>agent_output_delta</c></summary>
    public static readonly string AgentOutputDelta = Snake(nameof(IWorkflowClient.AgentOutputDelta));
    /// <summary><c>agent_reasoning_delta</c></summary>
    public static readonly string AgentReasoningDelta = Snake(nameof(IWorkflowClient.AgentReasoningDelta));
    /// <summary><c>agent_completed</c></summary>
    public static readonly string AgentCompleted = Snake(nameof(IWorkflowClient.AgentCompleted));
    /// <summary><c>synthesis_started</c></summary>
    public static readonly string SynthesisStarted = Snake(nameof(IWorkflowClient.SynthesisStarted));
    /// <summary><c>workflow_progress</c></summary>
    public static readonly string WorkflowProgress = Snake(nameof(IWorkflowClient.WorkflowProgress));
    /// <summary><c>workflow_complete</c></summary>
    public static readonly string WorkflowComplete = Snake(nameof(IWorkflowClient.WorkflowComplete));
    /// <summary><c>workflow_error</c></summary>
    public static readonly string WorkflowError = Snake(nameof(IWorkflowClient.WorkflowError));
    /// <summary><c>approval_requested</c></summary>
    public static readonly string ApprovalRequested = Snake(nameof(IWorkflowClient.ApprovalRequested));
    /// <summary><c>approval_resolved</c></summary>
    public static readonly string ApprovalResolved = Snake(nameof(IWorkflowClient.ApprovalResolved));

    /// <summary>The event types of the original design document; the raw WebSocket endpoint sends only these unless asked.</summary>
    public static readonly FrozenSet<string> Documented = new[]
    {
        WorkflowStatus, AgentSpawned, AgentOutput, SynthesisStarted, WorkflowComplete, WorkflowError,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Every workflow event type and its record type.</summary>
    public static readonly FrozenDictionary<string, Type> All = new Dictionary<string, Type>
    {
        [WorkflowStatus] = typeof(WorkflowStatusEvent),
        [AgentSpawned] = typeof(AgentSpawnedEvent),
        [AgentOutput] = typeof(AgentOutputEvent),
        [AgentOutputDelta] = typeof(AgentOutputDeltaEvent),
        [AgentReasoningDelta] = typeof(AgentReasoningDeltaEvent),
        [AgentCompleted] = typeof(AgentCompletedEvent),
        [SynthesisStarted] = typeof(SynthesisStartedEvent),
        [WorkflowProgress] = typeof(WorkflowProgressEvent),
        [WorkflowComplete] = typeof(WorkflowCompleteEvent),
        [WorkflowError] = typeof(WorkflowErrorEvent),
        [ApprovalRequested] = typeof(ApprovalRequestedEvent),
        [ApprovalResolved] = typeof(ApprovalResolvedEvent),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="type"/> names a workflow event type.</summary>
    public static bool IsKnown(string type) => All.ContainsKey(type);

    private static string Snake(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}
