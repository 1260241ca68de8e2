using System.Diagnostics;

namespace Felix.Server.Observability;

/// <summary>
/// Spans of a workflow run (source <c>Felix.Workflows</c>): one trace per workflow, rooted at its run, with a child
/// span per agent named as the GenAI semantic conventions name agent invocations (<c>invoke_agent {name}</c>). The model
/// calls' <c>chat {model}</c> spans (Microsoft.Extensions.AI, source <c>Felix.Llm</c>) start inside an agent's span and
/// so become its children.
/// </summary>
internal static class WorkflowTracing
{
    public const string SourceName = "Felix.Workflows";

    /// <summary>The model calls' source (<c>UseOpenTelemetry(sourceName: …)</c> in <c>AgentsExtensions</c>).</summary>
    public const string LlmSourceName = "Felix.Llm";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// The root span of a workflow's run. A new trace: the engine takes the run from its queue long after the request
    /// that created it, and a run that spans minutes inside an HTTP request's trace would only make that trace unreadable.
    /// </summary>
    public static Activity? StartWorkflow(string workflowId)
    {
        Activity.Current = null;
        var activity = Source.StartActivity("workflow", ActivityKind.Internal, parentContext: default);
        activity?.SetTag("felix.workflow.id", workflowId);
        return activity;
    }

    /// <summary>
    /// Names the workflow on the span of the request that created it. That span stays in the client's trace (its
    /// <c>traceparent</c>), the run is a trace of its own: the tag finds one from the other.
    /// </summary>
    public static void Created(Activity? request, string workflowId) => request?.SetTag("felix.workflow.id", workflowId);

    public static Activity? StartAgent(string workflowId, string agentId, string agentName)
    {
        var activity = Source.StartActivity($"invoke_agent {agentName}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "invoke_agent");
        activity?.SetTag("gen_ai.agent.id", agentId);
        activity?.SetTag("gen_ai.agent.name", agentName);
        activity?.SetTag("felix.workflow.id", workflowId);
        return activity;
    }

    public static void Failed(Activity? activity, string cause) => activity?.SetStatus(ActivityStatusCode.Error, cause);
}
