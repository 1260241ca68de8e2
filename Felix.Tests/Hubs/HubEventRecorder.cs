using System.Collections.Concurrent;
using Felix.Contracts;
using Felix.Contracts.Events;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Hubs;

/// <summary>Records what a connection receives through the typed <see cref="IWorkflowClient"/> methods.</summary>
internal sealed class HubEventRecorder
{
    private readonly ConcurrentQueue<(string Method, WorkflowEvent Event)> _received = new();
    private readonly TaskCompletionSource _terminal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HubEventRecorder(HubConnection connection)
    {
        connection.On<WorkflowStatusEvent>(nameof(IWorkflowClient.WorkflowStatus), e => Add(nameof(IWorkflowClient.WorkflowStatus), e));
        connection.On<AgentSpawnedEvent>(nameof(IWorkflowClient.AgentSpawned), e => Add(nameof(IWorkflowClient.AgentSpawned), e));
        connection.On<AgentOutputEvent>(nameof(IWorkflowClient.AgentOutput), e => Add(nameof(IWorkflowClient.AgentOutput), e));
        connection.On<AgentOutputDeltaEvent>(nameof(IWorkflowClient.AgentOutputDelta), e => Add(nameof(IWorkflowClient.AgentOutputDelta), e));
        connection.On<AgentReasoningDeltaEvent>(nameof(IWorkflowClient.AgentReasoningDelta), e => Add(nameof(IWorkflowClient.AgentReasoningDelta), e));
        connection.On<AgentCompletedEvent>(nameof(IWorkflowClient.AgentCompleted), e => Add(nameof(IWorkflowClient.AgentCompleted), e));
        connection.On<SynthesisStartedEvent>(nameof(IWorkflowClient.SynthesisStarted), e => Add(nameof(IWorkflowClient.SynthesisStarted), e));
        connection.On<WorkflowProgressEvent>(nameof(IWorkflowClient.WorkflowProgress), e => Add(nameof(IWorkflowClient.WorkflowProgress), e));
        connection.On<WorkflowCompleteEvent>(nameof(IWorkflowClient.WorkflowComplete), e => Add(nameof(IWorkflowClient.WorkflowComplete), e));
        connection.On<WorkflowErrorEvent>(nameof(IWorkflowClient.WorkflowError), e => Add(nameof(IWorkflowClient.WorkflowError), e));
        connection.On<ApprovalRequestedEvent>(nameof(IWorkflowClient.ApprovalRequested), e => Add(nameof(IWorkflowClient.ApprovalRequested), e));
        connection.On<ApprovalResolvedEvent>(nameof(IWorkflowClient.ApprovalResolved), e => Add(nameof(IWorkflowClient.ApprovalResolved), e));
    }

    /// <summary>The hub method names of <see cref="IWorkflowClient"/> this recorder listens to.</summary>
    public static readonly string[] Methods =
    [
        nameof(IWorkflowClient.WorkflowStatus), nameof(IWorkflowClient.AgentSpawned), nameof(IWorkflowClient.AgentOutput),
        nameof(IWorkflowClient.AgentOutputDelta), nameof(IWorkflowClient.AgentReasoningDelta), nameof(IWorkflowClient.AgentCompleted),
        nameof(IWorkflowClient.SynthesisStarted), nameof(IWorkflowClient.WorkflowProgress), nameof(IWorkflowClient.WorkflowComplete),
        nameof(IWorkflowClient.WorkflowError), nameof(IWorkflowClient.ApprovalRequested), nameof(IWorkflowClient.ApprovalResolved),
    ];

    /// <summary>Events in the order they arrived, with the client method that delivered each.</summary>
    public IReadOnlyList<(string Method, WorkflowEvent Event)> Received => [.. _received];

    public IReadOnlyList<WorkflowEvent> Events => [.. _received.Select(r => r.Event)];

    /// <summary>Completes when a terminal event arrived.</summary>
    public Task Terminal => _terminal.Task;

    private void Add(string method, WorkflowEvent evt)
    {
        _received.Enqueue((method, evt));
        if (evt.IsTerminal)
        {
            _terminal.TrySetResult();
        }
    }
}
