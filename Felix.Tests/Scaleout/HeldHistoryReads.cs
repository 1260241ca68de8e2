using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Scaleout;

/// <summary>
/// Wraps the registered event log (the real Redis one) and, once armed for a workflow, holds its next history read until
/// the test lets it go. A test stops redis-server meanwhile, so the read meets the real outage after the client's stream
/// has started, which no timing could arrange reliably.
/// </summary>
internal sealed class HeldHistoryReads
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _armedFor;

    /// <summary>Completes when the held read has started.</summary>
    public Task Entered => _entered.Task;

    /// <summary>
    /// Holds the next history read of <paramref name="workflowId"/>, and only that one. Arm it once the workflow's run
    /// has read its checkpoint (<see cref="ScaleoutClientExtensions.WaitForFirstAgentAsync"/>), or the run's read is held.
    /// </summary>
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

    private sealed class Log(IEventLog inner, HeldHistoryReads held) : IEventLog
    {
        public ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(evt, fence, cancellationToken);

        public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default) =>
            inner.GetStateAsync(workflowId, cancellationToken);

        public async ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default)
        {
            if (held.TakeHold(workflowId))
            {
                held._entered.TrySetResult();
                await held._gate.Task;
            }

            return await inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
        }
    }
}
