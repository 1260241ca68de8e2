using Felix.Server.Approvals;

namespace Felix.Server.Scaleout;

/// <summary>
/// A cancel on the cancel channel: the workflow's id, a line break, and who cancelled (the node running the workflow
/// withdraws its pending requests under that name). A workflow id has no line break. A message with the id alone (from
/// a node of an earlier version) is a cancel by <see cref="ApprovalWithdrawal.System"/>.
/// </summary>
internal static class RedisCancelMessage
{
    private const char Separator = '\n';

    public static string Format(string workflowId, string cancelledBy) => workflowId + Separator + cancelledBy;

    public static (string WorkflowId, string CancelledBy) Parse(string message) =>
        message.Split(Separator, 2) is [var id, var by] ? (id, by) : (message, ApprovalWithdrawal.System);
}
