using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

/// <summary>
/// Workflows waiting for the engine. Bounded by a slot count taken before the workflow is stored, so a full queue is
/// refused up front and never leaves a stored workflow that nothing will run.
/// </summary>
internal sealed class WorkflowQueue(IOptions<WorkflowOptions> options)
{
    private readonly Channel<string> _channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });
    private readonly int _capacity = options.Value.QueueCapacity;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public int Capacity => _capacity;

    /// <summary>Takes a slot; false when the queue is full.</summary>
    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _count) <= _capacity)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    /// <summary>Queues a workflow in a slot taken with <see cref="TryReserve"/>.</summary>
    public void Enqueue(string workflowId) => _channel.Writer.TryWrite(workflowId);

    public void Release() => Interlocked.Decrement(ref _count);

    /// <summary>Takes a waiting workflow without blocking (to drain the queue on shutdown).</summary>
    public bool TryTake(out string workflowId)
    {
        if (!_channel.Reader.TryRead(out workflowId!))
        {
            return false;
        }

        Release();
        return true;
    }

    public async IAsyncEnumerable<string> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var id in _channel.Reader.ReadAllAsync(cancellationToken))
        {
            Release();
            yield return id;
        }
    }
}
