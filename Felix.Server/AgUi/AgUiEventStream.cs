using System.Runtime.CompilerServices;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Api;
using Felix.Server.Approvals;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.Options;

namespace Felix.Server.AgUi;

/// <summary>
/// A run's AG-UI events with their positions, read from the workflow's stream like every other transport reads it
/// (history from the first event, then live, each once); <see cref="AgUiEventStreamResult"/> writes them. The run ends
/// after <c>RUN_FINISHED</c> or <c>RUN_ERROR</c>, or with an interrupt where the workflow parks on an approval that is
/// still undecided (as of its record, read then), or with <c>RUN_ERROR</c> (<see cref="StorageUnavailableCode"/>) when the
/// store fails while the run reads it, or (<see cref="WorkflowLostCode"/>) when the workflow was lost with storage. A client that goes away leaves the workflow running, unless its run
/// asked for <c>cancel_on_disconnect</c>.
/// </summary>
internal sealed partial class AgUiEventStream(
    EventPublisher publisher, WorkflowService workflows, DeferredCancels deferredCancels, ApprovalService approvals,
    IOptions<WorkflowOptions> options, IHostApplicationLifetime lifetime, ILogger<AgUiEventStream> logger)
{
    /// <summary>The <c>RUN_ERROR</c> code of a run whose stream could not be read: the store is down, the workflow goes on.</summary>
    public const string StorageUnavailableCode = "storage_unavailable";

    /// <summary>The <c>RUN_ERROR</c> code of a run whose workflow was lost with storage (its record and history gone).</summary>
    public const string WorkflowLostCode = "workflow_lost";

    public const string WorkflowLostMessage = "The workflow was lost: its record and history were lost with storage.";

    /// <param name="principal">Who runs it: a <c>cancel_on_disconnect</c> is this principal's cancel.</param>
    public async IAsyncEnumerable<AgUiFrame> ReadAsync(
        string workflowId, string owner, string principal, AgUiRunRequest request, AgUiPosition? resumeAfter,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var run = new AgUiRun(request.ThreadId, request.RunId, workflowId, resumeAfter, request.HeldMessages);
        await using var frames = ReadRunAsync(run, workflowId, owner, principal, request, resumeAfter, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            Exception? unavailable = null;
            var lost = false;
            try
            {
                if (!await frames.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception ex) when (StorageFaults.Is(ex))
            {
                unavailable = ex;
            }
            catch (StreamLostException)
            {
                lost = true;
            }

            if (lost)
            {
                // The workflow's record and history are gone: no run of this thread can go on, so the client is told why.
                LogLost(logger, workflowId);
                foreach (var frame in run.Fail(WorkflowLostMessage, WorkflowLostCode))
                {
                    yield return frame;
                }

                yield break;
            }

            if (unavailable is not null)
            {
                // The response has started, so the 503 the API answers before a stream cannot be sent: the run ends with
                // RUN_ERROR telling the client when to run again (with Last-Event-ID, it resumes where it was).
                LogStorageUnavailable(logger, workflowId, unavailable.GetType().Name, unavailable.Message);
                foreach (var frame in run.Fail(StorageUnavailableProblem.Message(options), StorageUnavailableCode))
                {
                    yield return frame;
                }

                yield break;
            }

            yield return frames.Current;
        }
    }

    private async IAsyncEnumerable<AgUiFrame> ReadRunAsync(
        AgUiRun run, string workflowId, string owner, string principal, AgUiRunRequest request, AgUiPosition? resumeAfter,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var frame in run.Begin())
        {
            yield return frame;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        using var subscription = await publisher.SubscribeAsync(workflowId, epoch: null, afterSequence: 0, stop.Token);
        LogOpened(logger, workflowId, Platform.SafeText.Escape(request.ThreadId), resumeAfter?.ToString());
        try
        {
            await using var events = subscription.ReadAllAsync(stop.Token).GetAsyncEnumerator(stop.Token);
            if (subscription.HistoryEnd == 0)
            {
                foreach (var frame in run.CaughtUp())
                {
                    yield return frame;
                }
            }

            while (!run.Finished && await NextAsync(events, workflowId))
            {
                var evt = events.Current.Event;
                foreach (var frame in run.Next(evt))
                {
                    yield return frame;
                }

                // A resuming run starts at the latest where the history read at subscription ends: the client holds
                // nothing later.
                if (evt.Sequence >= subscription.HistoryEnd)
                {
                    foreach (var frame in run.CaughtUp())
                    {
                        yield return frame;
                    }
                }

                // The gate writes awaiting_approval before it parks. A decision taken since (the one this run carried in
                // its resume entries, or any other) lets the run go on to the workflow's next events instead.
                if (evt is WorkflowStatusEvent { Status: WorkflowStatuses.AwaitingApproval } && run.PendingApproval is { } asked
                    && await IsUndecidedAsync(workflowId, asked.ApprovalId, stop.Token))
                {
                    LogInterrupted(logger, workflowId, asked.ApprovalId);
                    foreach (var frame in run.Interrupt(AgUiApprovals.Interrupt(workflowId, asked)))
                    {
                        yield return frame;
                    }
                }
            }
        }
        finally
        {
            if (!run.Finished && request.CancelOnDisconnect && cancellationToken.IsCancellationRequested
                && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                LogCancelOnDisconnect(logger, workflowId);
                await CancelOnDisconnectAsync(workflowId, owner, principal);
            }
        }
    }

    /// <summary>
    /// The cancel the run asked for. Its client is gone, so nobody would retry a cancel that meets a storage outage (REST
    /// answers that one 503): it is handed to <see cref="DeferredCancels"/>, which writes it once storage is back. It is
    /// the cancel of the principal whose run went away: a request it withdraws is recorded under that name.
    /// </summary>
    private async Task CancelOnDisconnectAsync(string workflowId, string owner, string principal)
    {
        try
        {
            await workflows.CancelAsync(workflowId, owner, principal, CancellationToken.None);
        }
        catch (Exception ex) when (StorageFaults.Is(ex))
        {
            LogCancelDeferred(logger, workflowId, ex.GetType().Name, ex.Message);
            deferredCancels.Add(workflowId, owner, principal);
        }
    }

    private async Task<bool> IsUndecidedAsync(string workflowId, string approvalId, CancellationToken cancellationToken)
    {
        try
        {
            return await approvals.GetAsync(workflowId, owner: null, cancellationToken) is { } workflow
                && !WorkflowStatuses.IsTerminal(workflow.Status) && workflow.FindApproval(approvalId) is { IsPending: true };
        }
        catch (OperationCanceledException)
        {
            return false; // the run is over anyway: the next read ends it
        }
    }

    private async ValueTask<bool> NextAsync(IAsyncEnumerator<PublishedEvent> events, string workflowId)
    {
        try
        {
            return await events.MoveNextAsync();
        }
        catch (SlowConsumerException)
        {
            // The client resumes with Last-Event-ID and reads the rest from the history.
            LogSlowConsumer(logger, workflowId);
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Debug, Message = "AG-UI run opened for workflow {WorkflowId} (thread {ThreadId}) after {ResumeAfter}")]
    private static partial void LogOpened(ILogger logger, string workflowId, string threadId, string? resumeAfter);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "AG-UI client of workflow {WorkflowId} went away: cancelling it, as its run asked")]
    private static partial void LogCancelOnDisconnect(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Debug, Message = "AG-UI run of workflow {WorkflowId} ends with an interrupt: approval {ApprovalId} waits")]
    private static partial void LogInterrupted(ILogger logger, string workflowId, string approvalId);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Warning, Message = "AG-UI run of workflow {WorkflowId} ended with RUN_ERROR: storage unavailable ({Fault}: {Cause})")]
    private static partial void LogStorageUnavailable(ILogger logger, string workflowId, string fault, string cause);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "AG-UI run of workflow {WorkflowId} ended with RUN_ERROR: the workflow was lost with storage")]
    private static partial void LogLost(ILogger logger, string workflowId);

    [LoggerMessage(EventId = 8007, Level = LogLevel.Warning, Message = "AG-UI client of workflow {WorkflowId} went away while storage is unavailable ({Fault}: {Cause}): its cancel is written once storage is back")]
    private static partial void LogCancelDeferred(ILogger logger, string workflowId, string fault, string cause);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "AG-UI run of workflow {WorkflowId} dropped: slow consumer")]
    private static partial void LogSlowConsumer(ILogger logger, string workflowId);
}
