using System.Security.Claims;
using System.Text.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Api;
using Felix.Server.Approvals;
using Felix.Server.Security;
using Felix.Server.Workflows;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Server.AgUi;

/// <summary>
/// A run's <c>resume</c> entries, each the answer to one interrupt (an approval), read as the approval decision it
/// stands for: <c>status</c> <c>resolved</c> with <c>payload</c> <c>{"decision", "comment"}</c> as the REST route takes
/// it, or <c>cancelled</c> (the user dismissed the interrupt), which rejects an open interrupt (one past its deadline
/// takes the deadline's outcome instead) and leaves one already closed as it is (<c>Dismissed</c>). The decisions are taken before the run's stream starts, with the REST route's
/// rules: the <c>felix.approve</c> scope, within the tenant, first decision wins.
/// </summary>
internal sealed record AgUiResume(string InterruptId, string WorkflowId, string ApprovalId, string Decision, string? Comment, bool Dismissed)
{
    public const string Resolved = "resolved";
    public const string Cancelled = "cancelled";

    /// <summary>
    /// A run ends with one interrupt (the approval its workflow waits on) and the next run answers it; the rest is room for
    /// a client that answers a thread's earlier interrupts again. Each entry costs store reads and a conditional write, and
    /// an answer repeated by its own decider is accepted, so without a bound one 1 MiB body would make thousands of them.
    /// </summary>
    public const int MaxEntries = 16;

    /// <summary>The longest workflow or approval id an interrupt id may name: the hub's limit on both.</summary>
    public const int MaxIdLength = 64;

    /// <summary>The fields of a payload, the body of the REST route: both strings.</summary>
    private static readonly string[] PayloadFields = ["decision", "comment"];

    /// <summary>
    /// Whether the body carries a resume entry that may take a decision, so the caller's scope is checked before anything
    /// else. Dismissals (<c>cancelled</c>) alone are checked entry by entry (<see cref="AnswerAsync"/>): one of a request
    /// already decided takes no decision, and the submitter's front end must send it to run its thread again.
    /// </summary>
    public static bool MayDecide(JsonElement? resume) =>
        resume is { ValueKind: JsonValueKind.Array } entries
        && entries.EnumerateArray().Any(e => !(e.ValueKind == JsonValueKind.Object && e.TryGetProperty("status", out var status)
            && status.ValueKind == JsonValueKind.String && status.ValueEquals(Cancelled)));

    /// <summary>The entries, or none with the problems keyed <c>resume[i].field</c>.</summary>
    public static List<AgUiResume> Read(JsonElement? resume, IValidator<ApprovalDecision> validator, Dictionary<string, string[]> errors)
    {
        var answers = new List<AgUiResume>();
        if (resume is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return answers;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            errors["resume"] = ["resume must be a list of resume entries (interruptId, status, payload)."];
            return answers;
        }

        if (value.GetArrayLength() > MaxEntries)
        {
            errors["resume"] = [$"resume may answer at most {MaxEntries} interrupts."];
            return answers;
        }

        var index = 0;
        var answered = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateArray())
        {
            var field = $"resume[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("interruptId", out var id) || id.ValueKind != JsonValueKind.String
                || !AgUiApprovals.TryParse(id.GetString()!, out var workflowId, out var approvalId)
                || workflowId.Length > MaxIdLength || approvalId.Length > MaxIdLength)
            {
                errors[$"{field}.interruptId"] = ["interruptId must be the id of an interrupt this thread's run ended with."];
                continue;
            }

            // One answer per interrupt: two, alike or not, leave it open which one the request means.
            if (!answered.TryAdd(id.GetString()!, field))
            {
                errors[$"{field}.interruptId"] = [$"Interrupt '{id.GetString()}' is answered twice: {answered[id.GetString()!]} answers it too."];
                continue;
            }

            var status = entry.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (status is not (Resolved or Cancelled))
            {
                errors[$"{field}.status"] = [$"status must be {Resolved} or {Cancelled}."];
                continue;
            }

            var decision = new ApprovalDecision { Decision = status == Cancelled ? ApprovalDecisions.Reject : null };
            if (entry.TryGetProperty("payload", out var payload) && payload.ValueKind == JsonValueKind.Object)
            {
                // The REST route refuses such a body; read as absent, a rejection's reason would be lost without a word.
                var wrongTypes = PayloadFields
                    .Where(name => payload.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    .ToList();
                foreach (var name in wrongTypes)
                {
                    errors[$"{field}.payload.{name}"] = [$"{name} must be a string."];
                }

                if (wrongTypes.Count > 0)
                {
                    continue;
                }

                decision.Decision = status == Cancelled ? decision.Decision : Text(payload, "decision");
                decision.Comment = Text(payload, "comment");
            }

            foreach (var failure in validator.Validate(decision).Errors)
            {
                var name = $"{field}.payload.{failure.PropertyName}";
                errors[name] = [.. errors.GetValueOrDefault(name, []), failure.ErrorMessage];
            }

            answers.Add(new AgUiResume(id.GetString()!, workflowId, approvalId, decision.Decision ?? "", decision.Comment, status == Cancelled));
        }

        return errors.Count > 0 ? [] : answers;
    }

    /// <summary>
    /// Takes the decisions; null when every entry is answered, else the problem that refuses the request. Every entry is
    /// checked against the workflows' records before any is taken, so a refused request decides nothing: unknown
    /// interrupts are a 422 naming each, then an interrupt that can no longer take its answer a 409. An entry that repeats
    /// the decision already taken by the same caller is an answer too: a client whose resumed run dropped sends its
    /// answers again, since it still holds the interrupts. So is a dismissal of an interrupt no longer open, which takes
    /// nothing and needs no scope (a dismissal of an open one rejects: 403 without it). Only a decision taken by someone else between the check and
    /// this request's own conditional update can still refuse an entry after earlier ones were taken: its 409 lists
    /// those under <c>answered</c>.
    /// </summary>
    public static async Task<ProblemHttpResult?> AnswerAsync(
        IReadOnlyList<AgUiResume> answers, string threadId, ClaimsPrincipal user, ApprovalService approvals, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var owner = FelixClaims.OwnerFilter(user);
        var decidedBy = FelixClaims.NameOf(user);
        var canApprove = FelixClaims.CanApprove(user);
        var forbidden = false;
        var workflows = new Dictionary<string, WorkflowRecord>(StringComparer.Ordinal);
        var unknown = new Dictionary<string, string[]>();
        ProblemHttpResult? conflict = null;
        var toTake = new List<(AgUiResume Answer, string DecidedBy)>();
        for (var i = 0; i < answers.Count; i++)
        {
            var answer = answers[i];
            if (!workflows.TryGetValue(answer.WorkflowId, out var workflow))
            {
                if (await approvals.GetAsync(answer.WorkflowId, owner, cancellationToken) is not { } found)
                {
                    return ApiProblems.WorkflowNotFound(answer.WorkflowId);
                }

                workflows[answer.WorkflowId] = workflow = found;
            }

            var check = workflow.ThreadId == threadId ? approvals.Check(workflow, answer.ApprovalId, answer.Decision) : DecideResult.ApprovalNotFound;
            var approval = workflow.FindApproval(answer.ApprovalId);
            if (check == DecideResult.ApprovalNotFound)
            {
                unknown[$"resume[{i}].interruptId"] = [$"Thread '{threadId}' has no interrupt '{answer.InterruptId}'."];
            }
            else if (check == DecideResult.AlreadyDecided && IsRepeat(approval!, answer, decidedBy))
            {
                // Taken already, by this caller and as this entry says: nothing to take again.
            }
            else if (IsDismissalOfClosed(check, answer))
            {
                // Decided by someone else, the deadline or a cancel: the dismissal lets the thread go on, and the run
                // shows that decision. @ag-ui/client runs a thread again only with an answer for each interrupt it
                // holds, and one past its expiresAt only as cancelled, so a 409 here would leave the thread stuck.
            }
            else if (answer.Dismissed && check == DecideResult.Decided && approval!.ExpiresAt <= time.GetUtcNow())
            {
                // Past its deadline, which has not settled it yet: @ag-ui/client answers such an interrupt only as
                // cancelled, so the dismissal takes what the deadline would take (its on_timeout), in its name.
                toTake.Add((answer with { Decision = approval.OnTimeout, Comment = ApprovalDeadlineService.TimedOutComment }, ApprovalService.Deadline));
            }
            else if (!canApprove)
            {
                // A dismissal of an open request rejects it: an approver's verdict.
                forbidden = true;
            }
            else if (check != DecideResult.Decided)
            {
                conflict ??= Refusal(check, answer, workflow, approval!, approvals, answered: []);
            }
            else
            {
                toTake.Add((answer, decidedBy));
            }
        }

        if (forbidden)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: ApprovalsApi.Forbidden, detail: ApprovalsApi.ForbiddenDetail);
        }

        if (unknown.Count > 0)
        {
            return ApiProblems.Validation(unknown);
        }

        if (conflict is not null)
        {
            return conflict;
        }

        var taken = new List<string>();
        foreach (var (answer, by) in toTake)
        {
            var outcome = await approvals.DecideAsync(answer.WorkflowId, answer.ApprovalId, answer.Decision, answer.Comment, by, owner, cancellationToken);
            if (outcome.Result != DecideResult.Decided
                && !(outcome.Result == DecideResult.AlreadyDecided && IsRepeat(outcome.Approval!, answer, by))
                && !IsDismissalOfClosed(outcome.Result, answer))
            {
                return outcome.Result == DecideResult.WorkflowNotFound
                    ? ApiProblems.WorkflowNotFound(answer.WorkflowId)
                    : Refusal(outcome.Result, answer, outcome.Workflow, outcome.Approval, approvals, taken);
            }

            taken.Add(answer.InterruptId);
        }

        return null;
    }

    private static bool IsRepeat(ApprovalRecord won, AgUiResume answer, string decidedBy) =>
        won.Decision == answer.Decision && won.Comment == answer.Comment && won.DecidedBy == decidedBy;

    /// <summary>A dismissal (<c>cancelled</c>) of an interrupt no longer open: nothing to decide, and no conflict.</summary>
    private static bool IsDismissalOfClosed(DecideResult result, AgUiResume answer) =>
        answer.Dismissed && result is DecideResult.AlreadyDecided or DecideResult.WorkflowFinished;

    /// <summary>The 409 for an entry that cannot be taken; <paramref name="answered"/>: the entries this request took before it.</summary>
    private static ProblemHttpResult Refusal(
        DecideResult result, AgUiResume answer, WorkflowRecord? workflow, ApprovalRecord? approval, ApprovalService approvals, List<string> answered)
    {
        var extensions = new Dictionary<string, object?>();
        if (answered.Count > 0)
        {
            extensions["answered"] = answered;
        }

        switch (result)
        {
            case DecideResult.AlreadyDecided:
                extensions["decision"] = approval!.Decision;
                extensions["decided_by"] = approval.DecidedBy;
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: ApprovalsApi.AlreadyDecided,
                    detail: $"Interrupt '{answer.InterruptId}' was already answered. {approval.Describe()}", extensions: extensions);
            case DecideResult.RevisionLimitReached:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: ApprovalsApi.RevisionLimitReached,
                    detail: approvals.RevisionLimitDetail(approval!), extensions: extensions);
            default:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: ApiProblems.WorkflowFinishedTitle,
                    detail: $"Workflow '{answer.WorkflowId}' is {workflow?.Status}; interrupt '{answer.InterruptId}' can no longer be answered.",
                    extensions: extensions);
        }
    }

    private static string? Text(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
