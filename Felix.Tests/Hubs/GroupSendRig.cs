using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Server.Observability;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Hubs;

/// <summary>
/// The server's group-send path without a transport, for the unit tests of the coalescer: the real
/// <see cref="GroupSendCoalescer"/> over the real <see cref="GroupMembership{THub}"/>, its <see cref="SharedDeadline"/>
/// on a <see cref="FakeTimeProvider"/>, and the server's metrics with the drop counter recorded. The members are
/// <see cref="ScriptedHubMember"/>s that join one group.
/// </summary>
internal sealed class GroupSendRig : IDisposable
{
    public const string Group = "workflow:wf";

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public GroupSendRig()
    {
        var metrics = new FelixMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        Dropped = new InstrumentRecorder(metrics.Meter, "felix.events.dropped");
        Coalescer = new GroupSendCoalescer(
            Membership, new SharedDeadline(TimeSpan.FromSeconds(8), Time), metrics, NullLogger<GroupSendCoalescer>.Instance);
    }

    public GroupMembership<WorkflowHub> Membership { get; } = new(NullLogger<DefaultHubLifetimeManager<WorkflowHub>>.Instance);

    /// <summary>The clock of the coalescer's write deadline (8 s).</summary>
    public FakeTimeProvider Time { get; } = new();

    /// <summary>The <c>felix.events.dropped</c> counter.</summary>
    public InstrumentRecorder Dropped { get; }

    public GroupSendCoalescer Coalescer { get; }

    /// <summary>Connects <paramref name="member"/> and adds it to <see cref="Group"/>.</summary>
    public async Task<ScriptedHubMember> JoinAsync(ScriptedHubMember member)
    {
        await Membership.OnConnectedAsync(member);
        await Membership.AddToGroupAsync(member.ConnectionId, Group);
        return member;
    }

    /// <summary>Sends an output delta with <paramref name="sequence"/> to <see cref="Group"/>.</summary>
    public ValueTask Send(long sequence) => Coalescer.SendAsync(
        Group, nameof(IWorkflowClient.AgentOutputDelta), new AgentOutputDeltaEvent { WorkflowId = "wf", Sequence = sequence, AgentId = "a", Delta = "x" });

    public void Dispose()
    {
        Dropped.Dispose();
        _services.Dispose();
    }
}
