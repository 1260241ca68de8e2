using Felix.Contracts;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Storage;

/// <summary>What recovery queues at start, read from the queue it fills, with the server's own SQLite store.</summary>
public sealed class WorkflowRecoveryTests : DataDirectoryTest
{
    // More than one page (100) of each unfinished status.
    private const int Running = 130;
    private const int Pending = 170;

    [Fact]
    public async Task MoreThanAPageOfUnfinishedWorkflowsAreAllQueuedInTheOrderTheyWereCreated()
    {
        await using var app = new FelixApplication(StorageTestSettings.SqliteFile(Files.Directory));
        var store = app.Services.GetRequiredService<IWorkflowStore>();
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        // Stored in an order unrelated to their creation, statuses mixed, every fifth pair created in the same second
        // (the id decides); finished workflows around them are not queued.
        var unfinished = Enumerable.Range(0, Running + Pending)
            .Select(i => new WorkflowRecord
            {
                Id = $"wf_{i:D8}", Task = "Accepted before the stop", MaxSteps = 1, Owner = "default",
                Status = i % 2 == 0 && i / 2 < Running ? WorkflowStatuses.Running : WorkflowStatuses.Pending,
                CreatedAt = created.AddSeconds(i % 5 == 1 ? i - 1 : i),
            })
            .ToList();
        Assert.Equal(Running, unfinished.Count(w => w.Status == WorkflowStatuses.Running));
        var finished = Enumerable.Range(0, 50).Select(i => new WorkflowRecord
        {
            Id = $"wf_done_{i:D4}", Task = "Finished before the stop", MaxSteps = 1, Owner = "default",
            Status = WorkflowStatuses.Completed, CreatedAt = created.AddSeconds(i * 7),
        });
        var stored = unfinished.Concat(finished).ToArray();
        new Random(26).Shuffle(stored);
        foreach (var workflow in stored)
        {
            await store.CreateAsync(workflow).DefaultTimeout();
        }

        // A queue of its own: the server's engine would start taking from its queue at once.
        var queue = new WorkflowQueue(Options.Create(new WorkflowOptions()));
        var recovery = new WorkflowRecovery(
            store, app.Services.GetRequiredService<IFinishingWorkflows>(), app.Services.GetRequiredService<WorkflowRunner>(), queue,
            NullLogger<WorkflowRecovery>.Instance);
        await recovery.StartAsync(CancellationToken.None).DefaultTimeout();

        Assert.Equal(Running + Pending, queue.Count);
        using var read = new CancellationTokenSource(TestTimeouts.Default);
        var queued = new List<string>();
        await foreach (var id in queue.ReadAllAsync(read.Token))
        {
            queued.Add(id);
            if (queued.Count == Running + Pending)
            {
                break;
            }
        }

        Assert.Equal(unfinished.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id, StringComparer.Ordinal).Select(w => w.Id), queued);
    }
}
