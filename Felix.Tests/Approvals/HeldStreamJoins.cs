using Felix.Server.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Approvals;

/// <summary>
/// Wraps the registered event log (the real one) and, once armed for a workflow, holds the next read of its stream state
/// until the test lets it go. A subscriber joining the workflow reads it while it holds the workflow's turn to publish,
/// so a run that publishes meanwhile waits for its turn, as it would behind a slow join, and a cancel reaches it there.
/// </summary>
internal sealed class HeldStreamJoins
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _armedFor;

    /// <summary>Completes when the held read has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Holds the next stream state read of <paramref name="workflowId"/>, and only that one.</summary>
    public void Arm(string workflowId) => Volatile.Write(ref _armedFor, workflowId);

    public void Release() => _gate.TrySetResult();

    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IEventLog));
        services.Remove(original);
        services.AddSingleton<IEventLog>(sp => new Log((IEventLog)original.ImplementationFactory!(sp), this));
    }

    private bool TakeHold(string workflowId) =>
        Volatile.Read(ref _armedFor) is { } armed && armed == workflowId && Interlocked.CompareExchange(ref _armedFor, null, armed) == armed;

    private sealed class Log(IEventLog inner, HeldStreamJoins held) : IEventLog
    {
        public ValueTask AppendAsync(Felix.Contracts.Events.WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(evt, fence, cancellationToken);

        public async ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default)
        {
            if (held.TakeHold(workflowId))
            {
                held._entered.TrySetResult();
                await held._gate.Task;
            }

            return await inner.GetStateAsync(workflowId, cancellationToken);
        }

        public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
    }
}
