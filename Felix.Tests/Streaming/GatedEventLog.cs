using Felix.Contracts.Events;
using Felix.Server.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Streaming;

/// <summary>
/// Wraps the registered event log and holds the appends of the events <paramref name="held"/> picks until the test lets
/// them go (or fails them), so a test can look at every transport while an append is still open.
/// </summary>
internal sealed class GatedEventLog(IEventLog inner, Func<WorkflowEvent, bool> held) : IEventLog
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a held append has started.</summary>
    public Task Entered => _entered.Task;

    public void Release() => _gate.TrySetResult();

    public void Fail(Exception exception) => _gate.TrySetException(exception);

    /// <summary>Puts a gate in front of whichever log the application registered.</summary>
    public static Action<IServiceCollection> Install(Func<WorkflowEvent, bool> held, Action<GatedEventLog> created) => services =>
    {
        var original = services.Last(d => d.ServiceType == typeof(IEventLog));
        services.Remove(original);
        services.AddSingleton<IEventLog>(sp =>
        {
            var log = new GatedEventLog((IEventLog)original.ImplementationFactory!(sp), held);
            created(log);
            return log;
        });
    };

    public async ValueTask AppendAsync(WorkflowEvent evt, long fence = 0, CancellationToken cancellationToken = default)
    {
        if (held(evt))
        {
            _entered.TrySetResult();
            await _gate.Task;
        }

        await inner.AppendAsync(evt, fence, cancellationToken);
    }

    public ValueTask<StreamState?> GetStateAsync(string workflowId, CancellationToken cancellationToken = default) =>
        inner.GetStateAsync(workflowId, cancellationToken);

    public ValueTask<HistoryPage> ReadAsync(string workflowId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(workflowId, afterSequence, limit, cancellationToken);
}
