using System.Collections.Concurrent;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Felix.Tests.Compat;

/// <summary>
/// Wraps the registered workflow store (the real one) and fails the first read of each workflow's record with the fault
/// SQLite raises when its file cannot be read (<c>SQLITE_IOERR</c>); later reads go through. A raw client's connect is
/// the first read of a workflow it has just created, so its first connect meets a storage fault and its next one does
/// not. Each read's time is kept, so a test can tell how long the client waited before coming back.
/// </summary>
internal sealed class FirstRecordReadFails
{
    private const int IoError = 10;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<DateTimeOffset>> _reads = new(StringComparer.Ordinal);

    public IReadOnlyList<DateTimeOffset> ReadsOf(string workflowId) =>
        _reads.TryGetValue(workflowId, out var reads) ? reads.ToArray() : [];

    public void Install(IServiceCollection services) => DelegatingWorkflowStore.Decorate(services, inner => new Store(inner, this));

    private sealed class Store(IWorkflowStore inner, FirstRecordReadFails fails) : DelegatingWorkflowStore(inner)
    {
        public override Task<WorkflowRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
        {
            var reads = fails._reads.GetOrAdd(id, static _ => new ConcurrentQueue<DateTimeOffset>());
            reads.Enqueue(DateTimeOffset.UtcNow);
            return reads.Count == 1
                ? Task.FromException<WorkflowRecord?>(new SqliteException("disk I/O error", IoError))
                : Inner.GetAsync(id, cancellationToken);
        }
    }
}
