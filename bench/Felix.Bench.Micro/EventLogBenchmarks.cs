using BenchmarkDotNet.Attributes;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Bench.Micro;

/// <summary>One append, awaited, the way the publisher appends (one at a time per workflow).</summary>
[MemoryDiagnoser]
public class EventLogBenchmarks
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "felix-micro-" + Guid.NewGuid().ToString("N"));
    private IEventLog _log = null!;
    private int _index;

    [Params("in-memory", "sqlite :memory:", "sqlite file normal")]
    public string Backend { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var streaming = Options.Create(new StreamingOptions { MaxEventsPerWorkflow = 10_000 });
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

    [Benchmark]
    public async Task<long> Append()
    {
        var evt = new AgentOutputDeltaEvent { WorkflowId = "wf_bench", AgentId = "bench-agent", Delta = "token", Index = _index++ };
        await _log.AppendAsync(evt);
        return evt.Sequence;
    }

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
