using BenchmarkDotNet.Attributes;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Bench.Micro;

/// <summary>One append, awaited, the way the publisher appends (one at a time per workflow).</summary>
/// <remarks>A running stream keeps every event, so each iteration appends to a stream of its own and ends it, as runs do.</remarks>
[MemoryDiagnoser]
[InvocationCount(10_000)]
public class EventLogBenchmarks
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "felix-micro-" + Guid.NewGuid().ToString("N"));
    private IEventLog _log = null!;
    private int _index;
    private int _iteration;
    private string _workflowId = "";

    [Params("in-memory", "sqlite :memory:", "sqlite file normal")]
    public string Backend { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var streaming = Options.Create(new StreamingOptions { MaxEventsPerWorkflow = 100 });
        if (Backend == "in-memory")
        {
            _log = new InMemoryEventLog(streaming);
            return;
        }

        Directory.CreateDirectory(_directory);
        var storage = new StorageOptions
        {
            DataDirectory = _directory,
            Database = Backend == "sqlite :memory:" ? StorageOptions.InMemoryDatabase : "micro.db",
            Synchronous = SqliteSynchronous.Normal,
        };
        var database = new SqliteDatabase(storage, _directory, NullLogger.Instance);
        _log = new SqliteEventLog(database, streaming, Options.Create(storage), NullLogger<SqliteEventLog>.Instance);
    }

    [IterationSetup]
    public void StartStream() => _workflowId = $"wf_bench_{++_iteration}";

    [Benchmark]
    public async Task<long> Append()
    {
        var evt = new AgentOutputDeltaEvent { WorkflowId = _workflowId, AgentId = "bench-agent", Delta = "token", Index = _index++ };
        await _log.AppendAsync(evt);
        return evt.Sequence;
    }

    [IterationCleanup]
    public void EndStream() =>
        _log.AppendAsync(new WorkflowErrorEvent { WorkflowId = _workflowId, Error = "iteration over" }).AsTask().GetAwaiter().GetResult();

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_log is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
