using System.Net.Http.Json;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Workflows;

public sealed class WorkflowRunnerTests
{
    [Fact]
    public async Task ARunWhoseWorkflowWasFinishedElsewhereNeverReopensIt()
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Taken over mid-run", maxSteps: 2);
        await client.WaitForStatusAsync(created.WorkflowId, WorkflowStatuses.Running);

        // What a node that took over from this one does: fail the workflow while this run is still at work.
        var runner = app.Services.GetRequiredService<WorkflowRunner>();
        Assert.True(await runner.FailAsync(created.WorkflowId, "Taken over").DefaultTimeout());
        model.Release();
        await Poll.UntilAsync(() => Task.FromResult(app.Services.GetRequiredService<WorkflowEngine>().ActiveCount == 0), "the run to end");

        var workflow = await client.GetWorkflowAsync(created.WorkflowId);
        var page = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{created.WorkflowId}/events?limit=1000", WorkflowApiExtensions.Json).DefaultTimeout();
        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal("Taken over", workflow.Error);
        Assert.Null(workflow.Synthesis);
        Assert.Single(page!.Events, e => e.IsTerminal);
        Assert.DoesNotContain(page.Events, e => e is WorkflowCompleteEvent);
        Assert.DoesNotContain(page.Events, e => e is WorkflowStatusEvent { Status: WorkflowStatuses.Completed });
    }

    [Fact]
    public async Task RawResumeInTheMiddleOfALiveRunGivesExactlyTheRest()
    {
        var model = new HeldModel();
        await using var app = new FelixApplication().WithServices(model.Install);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Resume me while I run", maxSteps: 3);
        await client.WaitForStatusAsync(created.WorkflowId, WorkflowStatuses.Running);
        var before = await client.GetFromJsonAsync<EventPage>($"api/v1/workflows/{created.WorkflowId}/events", WorkflowApiExtensions.Json).DefaultTimeout();
        var resumeFrom = before!.Events[^1];

        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?types=all&last_event_id={resumeFrom.EventId}");
        var connected = await socket.ReceiveJsonAsync();
        var snapshot = await socket.ReceiveJsonAsync();
        model.Release();
        var frames = await socket.ReadToCloseAsync();

        Assert.Equal("connected", connected!.Type());
        Assert.Equal(resumeFrom.Sequence, snapshot!["last_sequence"]!.GetValue<long>());
        var sequences = frames.Select(f => f["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(Enumerable.Range((int)resumeFrom.Sequence + 1, sequences.Count).Select(i => (long)i), sequences);
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Fact]
    public async Task FinishingRidesOutAStorageThatFailsForAWhile()
    {
        var flaky = new FlakyFinishStore(failures: 3);
        await using var app = new FelixApplication().WithServices(flaky.Install);
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Finish despite storage errors", maxSteps: 1);

        var workflow = await client.WaitForTerminalAsync(created.WorkflowId);

        Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
        Assert.Equal(3, flaky.Failed);
    }

    /// <summary>Storage that refuses the first few writes that finish a workflow, as a restarting Redis would.</summary>
    private sealed class FlakyFinishStore(int failures)
    {
        private readonly int _failures = failures;
        private int _failed;

        public int Failed => Math.Min(Volatile.Read(ref _failed), _failures);

        public void Install(IServiceCollection services) => DelegatingWorkflowStore.Decorate(services, inner => new Store(inner, this));

        private sealed class Store(IWorkflowStore inner, FlakyFinishStore owner) : DelegatingWorkflowStore(inner)
        {
            public override Task<WorkflowRecord?> UpdateAsync(string id, Func<WorkflowRecord, WorkflowRecord?> update, CancellationToken cancellationToken = default) =>
                Inner.UpdateAsync(id, w =>
                {
                    var next = update(w);
                    if (next is not null && WorkflowStatuses.IsTerminal(next.Status) && Interlocked.Increment(ref owner._failed) <= owner._failures)
                    {
                        throw new IOException("storage unavailable");
                    }

                    return next;
                }, cancellationToken);
        }
    }
}
