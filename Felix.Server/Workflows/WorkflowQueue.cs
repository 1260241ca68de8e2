using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Felix.Server.Workflows;

/// <summary>
/// Workflows waiting for the engine, shared fairly between tenants. Bounded by slots taken before the workflow is
/// stored, so a full queue is refused up front and never leaves a stored workflow that nothing will run.
/// </summary>
/// <remarks>
/// <para>Fair share: a tenant with nothing waiting may always take a free slot; <see cref="WorkflowOptions.QueueReserve"/>
/// slots are kept for such tenants. A tenant that already has work waiting may take another slot only outside the
/// reserve and while it holds less than an equal share of the rest among the tenants with work waiting. So one tenant
/// can fill the queue up to the reserve, never beyond, and a newcomer's first workflow is accepted.</para>
/// <para>Turns: the engine takes the oldest workflow of each tenant in turn, so a tenant's first workflow waits behind
/// at most one workflow of every other tenant, not behind their whole backlog.</para>
/// </remarks>
internal sealed class WorkflowQueue
{
    /// <summary>Scale-out's hand-off from the shared queue to this node's engine: one tenant of its own.</summary>
    public const string SharedQueueTenant = "";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, TenantSlots> _tenants = new(StringComparer.Ordinal);
    private readonly Queue<TenantSlots> _turns = new();
    private readonly SemaphoreSlim _waiting = new(0);
    private readonly int _capacity;
    private readonly int _reserve;
    private int _count;

    public WorkflowQueue(IOptions<WorkflowOptions> options)
    {
        _capacity = options.Value.QueueCapacity;
        _reserve = options.Value.EffectiveQueueReserve;
    }

    /// <summary>Slots taken: workflows waiting, and creations under way.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public int Capacity => _capacity;

    /// <summary>Takes a slot for <paramref name="tenant"/>; false when the queue is full or the tenant has its share.</summary>
    public bool TryReserve(string tenant)
    {
        lock (_lock)
        {
            if (_count >= _capacity)
            {
                return false;
            }

            if (_tenants.TryGetValue(tenant, out var slots))
            {
                var shared = _capacity - _reserve;
                var share = Math.Max(1, (shared + _tenants.Count - 1) / _tenants.Count);
                if (_count >= shared || slots.Held >= share)
                {
                    return false;
                }
            }
            else
            {
                slots = new TenantSlots(tenant);
                _tenants.Add(tenant, slots);
            }

            slots.Held++;
            _count++;
            return true;
        }
    }

    /// <summary>
    /// Takes a slot for work accepted earlier (a workflow that waited for a decision), which neither the capacity nor
    /// the tenant's share refuses: it is queued or dispatched next, as a slot from <see cref="TryReserve"/> is.
    /// </summary>
    public void ReserveAccepted(string tenant)
    {
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenant, out var slots))
            {
                slots = new TenantSlots(tenant);
                _tenants.Add(tenant, slots);
            }

            slots.Held++;
            _count++;
        }
    }

    /// <summary>Queues a workflow in a slot <paramref name="tenant"/> took with <see cref="TryReserve"/>.</summary>
    public void Enqueue(string tenant, string workflowId)
    {
        lock (_lock)
        {
            var slots = _tenants[tenant];
            if (slots.Waiting.Count == 0)
            {
                _turns.Enqueue(slots);
            }

            slots.Waiting.Enqueue(workflowId);
        }

        _waiting.Release();
    }

    /// <summary>
    /// Queues work accepted before a restart. It had its slot then, so neither the capacity nor the tenant's share
    /// refuses it now.
    /// </summary>
    public void Requeue(string tenant, string workflowId)
    {
        ReserveAccepted(tenant);
        Enqueue(tenant, workflowId);
    }

    /// <summary>Gives back a slot <paramref name="tenant"/> took and did not use.</summary>
    public void Release(string tenant)
    {
        lock (_lock)
        {
            Free(_tenants[tenant]);
        }
    }

    public async IAsyncEnumerable<string> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            await _waiting.WaitAsync(cancellationToken);
            yield return TakeNext();
        }
    }

    private string TakeNext()
    {
        lock (_lock)
        {
            var slots = _turns.Dequeue();
            var workflowId = slots.Waiting.Dequeue();
            if (slots.Waiting.Count > 0)
            {
                _turns.Enqueue(slots);
            }

            Free(slots);
            return workflowId;
        }
    }

    private void Free(TenantSlots slots)
    {
        _count--;
        if (--slots.Held == 0)
        {
            _tenants.Remove(slots.Tenant);
        }
    }

    private sealed class TenantSlots(string tenant)
    {
        public string Tenant { get; } = tenant;

        public int Held { get; set; }

        public Queue<string> Waiting { get; } = new();
    }
}
