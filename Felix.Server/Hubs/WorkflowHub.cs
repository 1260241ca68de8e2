using System.Runtime.CompilerServices;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Approvals;
using Felix.Server.Observability;
using Felix.Server.Platform;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Felix.Server.Hubs;

/// <summary>
/// The workflow hub: one group per workflow. Method names and shapes follow <see cref="IWorkflowHub"/>; the streaming
/// method also takes the connection's cancellation token, which is why the class cannot implement the interface itself.
/// </summary>
[Authorize]
internal sealed class WorkflowHub(
    WorkflowService workflows,
    EventPublisher publisher,
    IEventLog log,
    HubConnectionCounter counter,
    ApprovalService approvals,
    IValidator<ApprovalDecision> decisionValidator,
    GroupMembership<WorkflowHub> membership,
    IOptions<LimitsOptions> limits,
    FelixMetrics metrics,
    TimeProvider time) : Hub<IWorkflowClient>
{
    private const int MaxWorkflowIdLength = 64;

    /// <summary>
    /// Streams one connection may have open at once. A client follows a workflow with one stream (Felix.Client opens a
    /// connection per watch); without a bound one connection could open thousands, and every live event would be read and
    /// serialised once per stream, on the server's time.
    /// </summary>
    public const int MaxStreamsPerConnection = 100;

    private static readonly object OpenStreamsKey = new();

    public override Task OnConnectedAsync()
    {
        // Counted last: SignalR does not call OnDisconnectedAsync for a connection whose OnConnectedAsync threw.
        HubConnectionExpiry.Start(Context, time);
        counter.Connected();
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        counter.Disconnected();
        HubConnectionExpiry.Stop(Context);
        return Task.CompletedTask;
    }

    public async Task<WorkflowSubscription> Subscribe(string workflowId, long? afterSequence)
    {
        await RequireWorkflowAsync(workflowId, afterSequence);
        // Subscribe calls of one connection run one at a time, so the count cannot change between this look and the join.
        var max = limits.Value.MaxWorkflowsPerConnection;
        if (membership.MembershipOf(Context.ConnectionId, WorkflowGroups.For(workflowId)) is { Member: false, Count: var count } && count >= max)
        {
            throw new HubException(
                $"This connection follows {count} workflows, the most it may (Felix:Limits:MaxWorkflowsPerConnection): unsubscribe from one first, or use another connection.");
        }

        var state = await publisher.JoinAsync(
            workflowId, () => Groups.AddToGroupAsync(Context.ConnectionId, WorkflowGroups.For(workflowId)), Context.ConnectionAborted);
        var start = ResumePoint.Resolve(state, null, afterSequence);
        var events = await log.ReadRangeAsync(workflowId, start.AfterSequence, start.HistoryEnd, cancellationToken: Context.ConnectionAborted)
            .ToListAsync(Context.ConnectionAborted);

        // Read after joining, so the snapshot is at least as new as the history.
        if (events is [.., { IsTerminal: true }])
        {
            // The whole stream is in the log: nothing more will be published, so the publisher needs no channel for it.
            publisher.ForgetFinished(workflowId);
        }

        var snapshot = await workflows.GetAsync(workflowId, null, Context.ConnectionAborted);
        // The history goes to this connection as the call's result.
        metrics.Delivered(GroupSendCoalescer.Transport, events.Count);
        return new WorkflowSubscription
        {
            Workflow = snapshot!.ToResponse(),
            Epoch = start.Epoch,
            Events = events,
            ReplayedFromStart = start.ReplayedFromStart,
        };
    }

    public Task Unsubscribe(string workflowId)
    {
        if (string.IsNullOrWhiteSpace(workflowId) || workflowId.Length > MaxWorkflowIdLength)
        {
            throw new HubException("workflowId is required and at most 64 characters long.");
        }

        return Groups.RemoveFromGroupAsync(Context.ConnectionId, WorkflowGroups.For(workflowId));
    }

    public IAsyncEnumerable<WorkflowEvent> StreamEvents(
        string workflowId,
        long? afterSequence,
        string[]? types,
        CancellationToken cancellationToken) =>
        StreamAsync(workflowId, null, afterSequence, () => new EventFilter(ParseTypes(types), null, null), cancellationToken);

    public IAsyncEnumerable<WorkflowEvent> StreamEventsWithOptions(
        string workflowId,
        EventStreamOptions? options,
        CancellationToken cancellationToken) =>
        StreamAsync(workflowId, options?.Epoch, options?.AfterSequence, () => CreateFilter(options), cancellationToken);

    // The filter is built inside the stream, so a bad argument ends the stream with the HubException's message.
    private async IAsyncEnumerable<WorkflowEvent> StreamAsync(
        string workflowId,
        string? epoch,
        long? afterSequence,
        Func<EventFilter> createFilter,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var open = OpenStreams(Context);
        if (Interlocked.Increment(ref open.Value) > MaxStreamsPerConnection)
        {
            Interlocked.Decrement(ref open.Value);
            throw new HubException(
                $"Too many streams open on this connection (at most {MaxStreamsPerConnection}): end one, or use another connection.");
        }

        try
        {
            var filter = createFilter();
            await RequireWorkflowAsync(workflowId, afterSequence);
            using var subscription = await publisher.SubscribeAsync(workflowId, epoch, afterSequence, cancellationToken);
            await foreach (var published in ReadAsync(subscription, cancellationToken))
            {
                if (filter.Matches(published.Event))
                {
                    yield return published.Event;
                    // Resumed once SignalR has written the item to the connection.
                    metrics.Delivered(GroupSendCoalescer.Transport);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref open.Value);
        }
    }

    /// <summary>The connection's count of open streams, made at its first stream (streams start concurrently).</summary>
    private static StrongBox<int> OpenStreams(HubCallerContext context)
    {
        lock (context.Items)
        {
            if (!context.Items.TryGetValue(OpenStreamsKey, out var open))
            {
                context.Items[OpenStreamsKey] = open = new StrongBox<int>();
            }

            return (StrongBox<int>)open!;
        }
    }

    public async Task<ApprovalInfo> DecideApproval(string workflowId, string approvalId, ApprovalDecision? decision)
    {
        // The scope is read from the connection's credential, fixed when it connected.
        if (!FelixClaims.CanApprove(Context.User!))
        {
            throw new HubException(ApprovalsApi.ForbiddenDetail);
        }

        if (string.IsNullOrWhiteSpace(approvalId) || approvalId.Length > MaxWorkflowIdLength)
        {
            throw new HubException("approvalId is required and at most 64 characters long.");
        }

        if (decision is null)
        {
            throw new HubException("decision is required: { decision: approve | reject | revise, comment }.");
        }

        var validation = await decisionValidator.ValidateAsync(decision, Context.ConnectionAborted);
        if (!validation.IsValid)
        {
            throw new HubException(string.Join(" ", validation.Errors.Select(e => e.ErrorMessage)));
        }

        await RequireWorkflowAsync(workflowId, null);
        var outcome = await approvals.DecideAsync(
            workflowId, approvalId, decision.Decision!, decision.Comment, FelixClaims.NameOf(Context.User!), FelixClaims.OwnerFilter(Context.User!),
            Context.ConnectionAborted);
        return outcome.Result switch
        {
            DecideResult.Decided => outcome.Approval!.ToInfo(workflowId),
            DecideResult.WorkflowNotFound => throw new HubException($"Workflow '{SafeText.Escape(workflowId)}' not found."),
            DecideResult.ApprovalNotFound => throw new HubException($"Workflow '{workflowId}' has no approval '{SafeText.Escape(approvalId)}'."),
            DecideResult.AlreadyDecided => throw new HubException(outcome.Approval!.Describe()),
            DecideResult.RevisionLimitReached => throw new HubException(approvals.RevisionLimitDetail(outcome.Approval!)),
            _ => throw new HubException($"Workflow '{workflowId}' is {outcome.Workflow?.Status}; its approvals can no longer be decided."),
        };
    }

    private static EventFilter CreateFilter(EventStreamOptions? options)
    {
        if (options is null)
        {
            throw new HubException("options is required (send an empty object for every event).");
        }

        if (options.MinConfidence is { } min && (double.IsNaN(min) || min is < 0 or > 1))
        {
            throw new HubException("minConfidence must be a number between 0 and 1.");
        }

        return new EventFilter(ParseTypes(options.Types), EventFilter.ParseList(options.AgentIds), options.MinConfidence);
    }

    private static IReadOnlySet<string>? ParseTypes(IEnumerable<string>? types)
    {
        try
        {
            return EventFilter.ParseTypes(types, null);
        }
        catch (ArgumentException ex)
        {
            // The message names the unknown type and lists the known ones; it holds nothing internal.
            throw new HubException(ex.Message);
        }
    }

    private static async IAsyncEnumerable<PublishedEvent> ReadAsync(EventSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = subscription.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (ex is SlowConsumerException or StreamLostException)
                {
                    throw new HubException(ex.Message);
                }

                yield return events.Current;
            }
        }
        finally
        {
            await events.DisposeAsync();
        }
    }

    private async Task RequireWorkflowAsync(string workflowId, long? afterSequence)
    {
        if (string.IsNullOrWhiteSpace(workflowId) || workflowId.Length > MaxWorkflowIdLength)
        {
            throw new HubException("workflowId is required and at most 64 characters long.");
        }

        if (afterSequence < 0)
        {
            throw new HubException("afterSequence must be 0 or more (or null for the whole history).");
        }

        var owner = FelixClaims.OwnerFilter(Context.User!);
        if (await workflows.GetAsync(workflowId, owner, Context.ConnectionAborted) is null)
        {
            throw new HubException($"Workflow '{SafeText.Escape(workflowId)}' not found.");
        }
    }
}
