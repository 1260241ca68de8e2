using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

public sealed class SqliteWorkflowStoreTests : WorkflowStoreSpec, IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    private protected override Task<IWorkflowStore> CreateStoreAsync() => Task.FromResult<IWorkflowStore>(_files.OpenStore(_files.Open()));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task RetentionDeletesOnlyFinishedWorkflowsOlderThanTheLimitWithTheirHistory()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var database = _files.Open();
        var log = _files.OpenEventLog(database);
        var store = _files.OpenStore(database, log);
        var options = _files.Options();
        options.MaxFinishedAge = TimeSpan.FromDays(7);
        var logs = new LogCapture();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var retention = new SqliteRetention(database, log, Options.Create(options), time, loggers.CreateLogger<SqliteRetention>());
        var old = time.GetUtcNow().AddDays(-8);
        await store.CreateAsync(Record("wf_old", WorkflowStatuses.Completed, old, old)).DefaultTimeout();
        await store.CreateAsync(Record("wf_recent", WorkflowStatuses.Failed, old, time.GetUtcNow().AddDays(-1))).DefaultTimeout();
        await store.CreateAsync(Record("wf_running", WorkflowStatuses.Running, old, null)).DefaultTimeout();
        foreach (var id in new[] { "wf_old", "wf_running" })
        {
            await log.AppendAsync(new WorkflowStatusEvent { WorkflowId = id, Status = "running" }).AsTask().DefaultTimeout();
        }

        var deleted = await retention.PruneAsync().DefaultTimeout();

        Assert.Equal(1, deleted);
        Assert.Null(await store.GetAsync("wf_old").DefaultTimeout());
        Assert.Null(await log.GetStateAsync("wf_old").DefaultTimeout());
        Assert.Empty((await log.ReadAsync("wf_old", 0, 10).DefaultTimeout()).Events);
        Assert.NotNull(await store.GetAsync("wf_recent").DefaultTimeout());
        Assert.Equal(1, (await log.GetStateAsync("wf_running").DefaultTimeout())!.Value.LastSequence);

        // The log writes on: a later batch does not bring the deleted stream back.
        await log.AppendAsync(new WorkflowStatusEvent { WorkflowId = "wf_running", Status = "running" }).AsTask().DefaultTimeout();
        Assert.Equal(2, (await log.GetStateAsync("wf_running").DefaultTimeout())!.Value.LastSequence);
        Assert.Null(await log.GetStateAsync("wf_old").DefaultTimeout());

        // What it deleted is logged; a pass that deletes nothing logs nothing.
        Assert.Equal(0, await retention.PruneAsync().DefaultTimeout());
        var pruned = Assert.Single(logs.Entries, e => e.Category == typeof(SqliteRetention).FullName);
        Assert.Equal((6201, LogLevel.Information), (pruned.EventId, pruned.Level));
        Assert.StartsWith("Retention deleted 1 workflows", pruned.Message, StringComparison.Ordinal);
    }

    private static WorkflowRecord Record(string id, string status, DateTimeOffset created, DateTimeOffset? completed) => new()
    {
        Id = id,
        Task = "t",
        MaxSteps = 3,
        Status = status,
        CreatedAt = created,
        CompletedAt = completed,
    };
}
