using Felix.Contracts.Events;
using Felix.Server.Observability;
using Felix.Server.Streaming;

namespace Felix.Server.Workflows;

/// <summary>Status changes go to the workflow's stream and to the system stream together.</summary>
internal sealed class WorkflowEvents(EventPublisher publisher, SystemEventBus system, FelixMetrics metrics)
{
    public async Task StatusChangedAsync(string workflowId, string status)
    {
        metrics.WorkflowStatus(status);
        await publisher.PublishAsync(new WorkflowStatusEvent { WorkflowId = workflowId, Status = status });
        await system.PublishAsync(new SystemEvent
        {
            Type = SystemEvent.WorkflowStatusChanged,
            WorkflowId = workflowId,
            Status = status,
            Message = $"Workflow {workflowId} is {status}",
        });
    }
}
