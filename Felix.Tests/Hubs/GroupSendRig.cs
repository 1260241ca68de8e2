using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Hubs;
using Felix.Server.Observability;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
    private readonly ILoggerFactory _loggers;

    public GroupSendRig()
    {
        var metrics = new FelixMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        Dropped = new InstrumentRecorder(metrics.Meter, "felix.events.dropped");
        _loggers = LoggerFactory.Create(b => b.AddProvider(Logs));
        Coalescer = new GroupSendCoalescer(
            Membership, new SharedDeadline(TimeSpan.FromSeconds(8), Time), metrics, _loggers.CreateLogger<GroupSendCoalescer>());
    }

    /// <summary>What the coalescer logged.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>The coalescer's log entries with <paramref name="eventId"/>.</summary>
    public LogCapture.Entry[] Logged(int eventId) =>
        [.. Logs.Entries.Where(e => e.Category == typeof(GroupSendCoalescer).FullName && e.EventId == eventId)];

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
        _loggers.Dispose();
        _services.Dispose();
    }
}
