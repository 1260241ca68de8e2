using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Infrastructure;

/// <summary>Which read of the event log <see cref="HeldEventLogReads"/> holds.</summary>
internal enum HeldRead
{
    /// <summary>
    /// The stream state read of a subscriber joining the workflow: it holds the workflow's turn to publish, so a run that
    /// publishes meanwhile waits for its turn, as it would behind a slow join.
    /// </summary>
    StreamState,

    /// <summary>
    /// A history read: a test can stop redis-server meanwhile, so the read meets the real outage after the client's stream
    /// has started, which no timing could arrange reliably.
    /// </summary>
    History,
}

/// <summary>
/// Wraps the registered event log (the real one) and, once armed for a workflow, holds its next read of one kind until
/// the test lets it go. Arm a history hold once the workflow's run has read its checkpoint
/// (<see cref="Scaleout.ScaleoutClientExtensions.WaitForFirstAgentAsync"/>), or the run's read is held.
/// </summary>
internal sealed class HeldEventLogReads(HeldRead read)
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _armedFor;

    /// <summary>Completes when the held read has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Holds the next read of <paramref name="workflowId"/>, and only that one.</summary>
    public void Arm(string workflowId) => Volatile.Write(ref _armedFor, workflowId);

    public void Release() => _gate.TrySetResult();

    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IEventLog));
        services.Remove(original);
        services.AddSingleton<IEventLog>(sp => new Log((IEventLog)original.ImplementationFactory!(sp), this));
    }

    private async ValueTask HoldAsync(HeldRead kind, string workflowId)
    {
        if (kind == read && Volatile.Read(ref _armedFor) is { } armed && armed == workflowId
            && Interlocked.CompareExchange(ref _armedFor, null, armed) == armed)
        {
            _entered.TrySetResult();
            await _gate.Task;
        }
    }

    private sealed class Log(IEventLog inner, HeldEventLogReads held) : IEventLog
    {
        public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(evt, fence, cancellationToken);

        public async ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
        {
            await held.HoldAsync(HeldRead.StreamState, workflowId);
            return await inner.GetStateAsync(workflowId, cancellationToken);
        }

        public async ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
        {
            await held.HoldAsync(HeldRead.History, workflowId);
            return await inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
        }
    }
}
