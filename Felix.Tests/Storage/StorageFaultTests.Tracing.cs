using System.Collections.Concurrent;
using System.Diagnostics;
using Felix.Contracts;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Storage;

public sealed partial class StorageFaultTests
{
    // A trace backend lists failed runs by their root span's status: a workflow failed by an outage is one of them.
    [Fact]
    public async Task AWorkflowFailedByALongOutageEndsItsRootSpanWithErrorAndTheReason()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Felix.Workflows",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var logs = new LogCapture();
        await using var app = new FelixApplication(StorageTestSettings.SqliteFile(_directory,
            ("Felix:Llm:OfflineTokenDelay", "00:00:00.020"),
            ("Felix:Workflows:StorageOutageLimit", "00:00:02"))).WithServices(s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        using var client = app.CreateApiClient();
        var workflow = await client.CreateWorkflowAsync("Traced through a long outage", maxSteps: 3);
        await Poll.UntilAsync(async () => (await client.ReadEventsAsync(workflow.WorkflowId)).Any(e => e is Felix.Contracts.Events.AgentOutputDeltaEvent),
            "the run to stream text");

        var filler = Path.Combine(_directory, "filler");
        Fill(filler);
        // The runner gives up once the outage passed the limit; it writes the failure when it can.
        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 2112)), "the runner to give up on the outage", TimeSpan.FromSeconds(30));
        File.Delete(filler);
        var done = await client.WaitForTerminalAsync(workflow.WorkflowId, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowStatuses.Failed, done.Status);
        // Its spans have ended once the engine no longer runs it.
        var engine = app.Services.GetRequiredService<WorkflowEngine>();
        await Poll.UntilAsync(() => Task.FromResult(!engine.IsActive(workflow.WorkflowId)), "the run to end");

        var roots = spans.Where(s => IsRootOf(s, workflow.WorkflowId)).ToList();
        var root = Assert.Single(roots);
        Assert.Equal((ActivityStatusCode.Error, done.Error), (root.Status, root.StatusDescription));
    }

    private static bool IsRootOf(Activity span, string workflowId) =>
        span.DisplayName == "workflow" && Equals(span.GetTagItem("felix.workflow.id"), workflowId);
}
