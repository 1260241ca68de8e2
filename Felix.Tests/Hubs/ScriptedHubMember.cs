using System.IO.Pipelines;
using System.Text;
using Felix.Contracts.Serialization;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Felix.Tests.Hubs;

/// <summary>
/// A hub connection whose writes the test answers: each write is recorded and completes at once, or waits until the
/// test completes or fails it. It stands for the transport only; what decides which writes happen (the coalescer, the
/// stateful writer) is the real code. SignalR's own connection never fails a write it has started (it aborts the
/// connection instead), so the failures the code under test must handle are the ones a test has to make itself.
/// </summary>
internal sealed class ScriptedHubMember : HubConnectionContext
{
    private readonly Lock _lock = new();
    private readonly List<Write> _writes = [];
    private int _inFlight;
    private int _aborts;

    public ScriptedHubMember(IHubProtocol protocol, bool holdWrites)
        : base(NewConnection(), new HubConnectionContextOptions(), NullLoggerFactory.Instance)
    {
        Protocol = protocol;
        HoldWrites = holdWrites;
    }

    /// <summary>The JSON protocol as the server configures it.</summary>
    public static IHubProtocol Json { get; } = new JsonHubProtocol(Options.Create(new JsonHubProtocolOptions
    {
        PayloadSerializerOptions = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web).AddFelixConverters(),
    }));

    /// <summary>When set, each write stays pending until <see cref="Complete"/> or <see cref="Fail"/>.</summary>
    public bool HoldWrites { get; set; }

    public int MaxInFlight { get; private set; }

    public int Aborts => Volatile.Read(ref _aborts);

    public IReadOnlyList<Write> Writes
    {
        get
        {
            lock (_lock)
            {
                return [.. _writes];
            }
        }
    }

    /// <summary>The sequences of the events in every write so far, in the order the writes were started.</summary>
    public IReadOnlyList<long> Sequences => [.. Writes.SelectMany(w => w.Sequences)];

    public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
    {
        ReadOnlyMemory<byte> bytes;
        try
        {
            bytes = message.GetSerializedMessage(Protocol);
        }
        catch (Exception)
        {
            // As SignalR does: a message it cannot serialise aborts the connection, and the write completes.
            Abort();
            return ValueTask.CompletedTask;
        }

        var write = new Write(SequencesOf(bytes));
        lock (_lock)
        {
            _writes.Add(write);
            MaxInFlight = Math.Max(MaxInFlight, ++_inFlight);
        }

        if (!HoldWrites)
        {
            Done();
            return ValueTask.CompletedTask;
        }

        return new ValueTask(write.Pending.Task.ContinueWith(
            t =>
            {
                Done();
                t.GetAwaiter().GetResult();
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
    }

    public override void Abort()
    {
        Interlocked.Increment(ref _aborts);
        base.Abort();
    }

    private void Done()
    {
        lock (_lock)
        {
            _inFlight--;
        }
    }

    // SignalR's Abort cancels the transport's pending flush, so the connection needs a transport, though nothing is
    // written to it.
    private static DefaultConnectionContext NewConnection()
    {
        var (input, output) = (new Pipe(), new Pipe());
        return new DefaultConnectionContext(
            Guid.NewGuid().ToString("N"), new Duplex(input.Reader, output.Writer), new Duplex(output.Reader, input.Writer));
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private static long[] SequencesOf(ReadOnlyMemory<byte> bytes)
    {
        // JSON hub messages end with the record separator; each carries one event as its first argument.
        var text = Encoding.UTF8.GetString(bytes.Span);
        return text.Split('\u001e', StringSplitOptions.RemoveEmptyEntries)
            .Select(record => System.Text.Json.Nodes.JsonNode.Parse(record)!["arguments"]![0]!["sequence"]!.GetValue<long>())
            .ToArray();
    }

    internal sealed class Write(long[] sequences)
    {
        public long[] Sequences { get; } = sequences;

        public TaskCompletionSource Pending { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Complete() => Pending.SetResult();

        public void Fail(Exception ex) => Pending.SetException(ex);
    }
}
