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
        await using var app = LongOutageApp(logs);
        using var client = app.CreateApiClient();
        var done = await RunThroughALongOutageAsync(client, logs, "Traced through a long outage");
        Assert.Equal(WorkflowStatuses.Failed, done.Status);
        // Its spans have ended once the engine no longer runs it.
        var engine = app.Services.GetRequiredService<WorkflowEngine>();
        await Poll.UntilAsync(() => Task.FromResult(!engine.IsActive(done.WorkflowId)), "the run to end");

        var roots = spans.Where(s => IsRootOf(s, done.WorkflowId)).ToList();
        var root = Assert.Single(roots);
        Assert.Equal((ActivityStatusCode.Error, done.Error), (root.Status, root.StatusDescription));
    }

    private static bool IsRootOf(Activity span, string workflowId) =>
        span.DisplayName == "workflow" && Equals(span.GetTagItem("felix.workflow.id"), workflowId);
}
