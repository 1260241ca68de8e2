using System.IO.Pipelines;
using System.Text;
using Felix.Contracts.Serialization;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Abstractions;
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

    /// <param name="protocol">The protocol the member's messages are serialised with.</param>
    /// <param name="holdWrites">Whether each write waits for the test (see <see cref="HoldWrites"/>).</param>
    /// <param name="statefulReconnect">Whether the connection has stateful reconnect, as a client that asked for it.</param>
    public ScriptedHubMember(IHubProtocol protocol, bool holdWrites, bool statefulReconnect = false)
        : base(NewConnection(statefulReconnect), new HubConnectionContextOptions(), NullLoggerFactory.Instance)
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

    /// <summary>
    /// When set, a write does not return to its caller until the test releases a permit: it holds the thread that
    /// writes, as a transport slow to take a write would, so that what the publisher sends meanwhile queues up. The
    /// write is recorded before it waits.
    /// </summary>
    public SemaphoreSlim? WritePermits { get; set; }

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

        if (WritePermits is { } permits && !permits.Wait(TestTimeouts.Default, CancellationToken.None))
        {
            throw new TimeoutException("the test released no permit for this write");
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
    private static DefaultConnectionContext NewConnection(bool statefulReconnect)
    {
        var (input, output) = (new Pipe(), new Pipe());
        var connection = new DefaultConnectionContext(
            Guid.NewGuid().ToString("N"), new Duplex(input.Reader, output.Writer), new Duplex(output.Reader, input.Writer));
        if (statefulReconnect)
        {
#pragma warning disable CA2252 // IStatefulReconnectFeature is a preview API; the server reads only its presence
            connection.Features.Set<IStatefulReconnectFeature>(new StatefulReconnect());
#pragma warning restore CA2252
        }

        return connection;
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;

#pragma warning disable CA2252 // IStatefulReconnectFeature is a preview API
    /// <summary>The feature SignalR sets on a connection whose client asked for stateful reconnect; never reconnects here.</summary>
    private sealed class StatefulReconnect : IStatefulReconnectFeature
    {
        public void OnReconnected(Func<PipeWriter, Task> notifyOnReconnect)
        {
        }

        public void DisableReconnect()
        {
        }
    }
#pragma warning restore CA2252

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
