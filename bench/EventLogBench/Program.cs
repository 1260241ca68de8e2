using System.Diagnostics;
using System.Globalization;
using Felix.Contracts.Events;
using Felix.Server.Storage;
using Felix.Server.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

// Appends events to the log the way EventPublisher does: one append at a time per workflow, many workflows at once.
// Usage: dotnet run -c Release --project bench/EventLogBench -- [workflows=50] [eventsPerWorkflow=2000]
var workflows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var perWorkflow = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
var streaming = Options.Create(new StreamingOptions { MaxEventsPerWorkflow = 1_000_000 });
var directory = Path.Combine(Path.GetTempPath(), "felix-bench-" + Guid.NewGuid().ToString("N"));

Console.WriteLine($"{workflows} workflows x {perWorkflow} events, {Environment.ProcessorCount} cores");
await RunAsync("in-memory", new InMemoryEventLog(streaming));
foreach (var synchronous in new[] { SqliteSynchronous.Full, SqliteSynchronous.Normal })
{
    var options = new StorageOptions { DataDirectory = directory, Database = $"bench-{synchronous}.db", Synchronous = synchronous };
    var database = new SqliteDatabase(options, directory, NullLogger.Instance);
    await using var log = new SqliteEventLog(database, streaming, Options.Create(options), NullLogger<SqliteEventLog>.Instance);
    await RunAsync($"sqlite file, synchronous={synchronous}", log);
}

Directory.Delete(directory, recursive: true);

async Task RunAsync(string name, IEventLog log)
{
    // Allocations over every thread (the SQLite log writes on a thread of its own) and the process's CPU time.
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var cpu = Environment.CpuUsage.TotalTime;
    var stopwatch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, workflows).Select(w => Task.Run(async () =>
    {
        var id = $"wf_{w}";
        for (var i = 0; i < perWorkflow; i++)
        {
            await log.AppendAsync(new AgentOutputDeltaEvent { WorkflowId = id, AgentId = "agent_1", Delta = "token " + i });
        }
    })));
    stopwatch.Stop();
    var total = (long)workflows * perWorkflow;
    var bytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)total;
    var microseconds = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / total;
    Console.WriteLine($"{name,-32} {total,9:N0} events in {stopwatch.Elapsed.TotalSeconds,6:F2} s = {total / stopwatch.Elapsed.TotalSeconds,10:N0} events/s, " +
        $"{bytes,6:N0} B and {microseconds,6:F1} us CPU per event");
}
