using System.Globalization;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Approvals;

namespace Felix.Server.AgUi;

/// <summary>
/// Felix's approvals as AG-UI interrupts. An <c>approval_requested</c> becomes an interrupt whose id is
/// <c>{workflowId}.{approvalId}</c>: unique on every thread, and it names the workflow it belongs to, so a run that
/// answers it finds that workflow even when its own last user message is a new one (the reference client makes every
/// run answer the thread's pending interrupts). Its payload is an approval decision; see docs/agui.md.
/// </summary>
internal static class AgUiApprovals
{
    public const string Reason = "approval";

    /// <summary>What a <c>resume</c> entry's <c>payload</c> holds: the body of the REST decision.</summary>
    public static readonly JsonObject PayloadSchema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["decision"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. ApprovalDecisions.All.Select(d => JsonValue.Create(d))]) },
            ["comment"] = new JsonObject { ["type"] = "string", ["maxLength"] = ApprovalDecisionValidator.MaxCommentLength },
        },
        ["required"] = new JsonArray("decision"),
    };

    public static string InterruptId(string workflowId, string approvalId) => $"{workflowId}.{approvalId}";

    /// <summary>The workflow and approval an interrupt id names; false for an id Felix did not give.</summary>
    public static bool TryParse(string interruptId, out string workflowId, out string approvalId)
    {
        var dot = interruptId.IndexOf('.', StringComparison.Ordinal);
        (workflowId, approvalId) = dot > 0 && dot < interruptId.Length - 1 ? (interruptId[..dot], interruptId[(dot + 1)..]) : ("", "");
        return workflowId.Length > 0;
    }

    /// <summary>The interrupt a run ends with while <paramref name="request"/> waits: all a UI needs to render it.</summary>
    public static AgUiInterrupt Interrupt(string workflowId, ApprovalRequestedEvent request)
    {
        var felix = new JsonObject
        {
            ["workflowId"] = workflowId,
            ["approvalId"] = request.ApprovalId,
            ["kind"] = request.Kind,
            ["content"] = request.Content,
            ["confidence"] = request.Confidence,
            ["options"] = new JsonArray([.. request.Options.Select(o => JsonValue.Create(o))]),
            ["expiresAt"] = request.ExpiresAt,
        };
        if (request.AgentId is { } agentId)
        {
            felix["agentId"] = agentId;
        }

        var message = request.AgentId is { } agent
            ? $"Approve the output of {agent} before the workflow goes on: approve, reject, or revise with a comment."
            : "Approve the synthesis before the workflow completes with it: approve, reject, or revise with a comment.";
        return new AgUiInterrupt(
            InterruptId(workflowId, request.ApprovalId), Reason, message,
            DateTimeOffset.TryParse(request.ExpiresAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires) ? expires : null,
            request.AgentId is { } id ? AgUiEventMapper.SubagentRunId(workflowId, id) : null,
            PayloadSchema,
            new JsonObject { ["felix"] = felix });
    }
}
