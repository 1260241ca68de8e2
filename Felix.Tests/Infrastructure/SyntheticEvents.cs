using System.Diagnostics;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Infrastructure;

/// <summary>
/// Bursts of events through the application's real publisher (log, fan-out, hubs, raw sockets) into a workflow the
/// engine never runs, at a chosen rate: what the transports do under load, without a model's pace.
/// </summary>
internal static class SyntheticEvents
{
    public const string AgentId = "synthetic-agent";

    /// <summary>A running workflow of the default tenant that no run writes to.</summary>
    public static async Task<string> CreateWorkflowAsync(this FelixApplication app)
    {
        var record = new WorkflowRecord
        {
            Id = WorkflowIds.New(),
            Task = "synthetic",
            MaxSteps = 1,
            Owner = FelixClaims.DefaultTenant,
            Status = WorkflowStatuses.Running,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await app.Services.GetRequiredService<IWorkflowStore>().CreateAsync(record);
        return record.Id;
    }

    /// <summary>Publishes <paramref name="events"/> deltas of <paramref name="bytes"/> characters, <paramref name="rate"/> a second (0: unpaced).</summary>
    public static Task PublishAsync(this FelixApplication app, string workflowId, int events, double rate = 0, int bytes = 16)
    {
        var publisher = app.Services.GetRequiredService<EventPublisher>();
        var text = new string('x', bytes);
        // On the thread pool, as a run publishes: the caller goes on while the events are being published.
        return Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < events; i++)
            {
                if (rate > 0 && TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(started) is var due && due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due);
                }

                await publisher.PublishAsync(new AgentOutputDeltaEvent { WorkflowId = workflowId, AgentId = AgentId, Delta = text, Index = i });
            }
        });
    }
}
