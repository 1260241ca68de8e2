using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>The seed's opt-in extensions on the raw endpoint: <c>agent_id</c> and <c>min_confidence</c>.</summary>
public sealed class CompatFilterTests
{
    [Fact]
    public async Task AgentIdKeepsOnlyThatAgentsEventsAndEveryEventWithoutAnAgent()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 4);
        var all = (await ReadStreamAsync(app, WorkflowPath(workflowId))).Events();
        var agents = all.OfType("agent_spawned").Select(s => s.Str("agent_id")).ToList();

        var filtered = (await ReadStreamAsync(app, WorkflowPath(workflowId, $"agent_id={agents[0]},{agents[^1]}"))).Events();

        Assert.Equal(
            all.Where(e => e["agent_id"] is null || e.Str("agent_id") == agents[0] || e.Str("agent_id") == agents[^1]).Select(e => e.EventId()),
            filtered.Select(e => e.EventId()));
        Assert.Equal(2, filtered.OfType("agent_output").Count);
        Assert.Equal("workflow_complete", filtered[^1].Type());
    }

    [Fact]
    public async Task MinConfidenceDropsAgentOutputsBelowItAndKeepsTheRest()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 5);
        var all = (await ReadStreamAsync(app, WorkflowPath(workflowId))).Events();
        var confidences = all.OfType("agent_output").Select(o => o.Num("confidence")).Order().ToList();
        var threshold = confidences[confidences.Count / 2];

        var filtered = (await ReadStreamAsync(app, WorkflowPath(workflowId, $"min_confidence={threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))).Events();

        Assert.Equal(confidences.Count(c => c >= threshold), filtered.OfType("agent_output").Count);
        Assert.All(filtered.OfType("agent_output"), o => Assert.True(o.Num("confidence") >= threshold));
        Assert.Equal(all.Where(e => e.Type() != "agent_output").Select(e => e.EventId()), filtered.Where(e => e.Type() != "agent_output").Select(e => e.EventId()));
    }

    [Fact]
    public async Task TheEdgesOfEachParameterAreAcceptedAndAnEmptyOneIsLikeNone()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);
        var all = (await ReadStreamAsync(app, WorkflowPath(workflowId))).Events().Select(e => e.EventId()).ToList();

        // 0 and 1 are the bounds of a confidence, so both are valid; an empty value is the parameter left out.
        foreach (var query in new[] { "min_confidence=0", "min_confidence=", "last_event_id=" })
        {
            Assert.Equal(all, (await ReadStreamAsync(app, WorkflowPath(workflowId, query))).Events().Select(e => e.EventId()));
        }

        var confident = (await ReadStreamAsync(app, WorkflowPath(workflowId, "min_confidence=1"))).Events();
        Assert.Equal("workflow_complete", confident[^1].Type());
    }

    [Theory]
    [InlineData("min_confidence=1.5", "min_confidence must be a number between 0 and 1")]
    [InlineData("min_confidence=high", "min_confidence must be a number between 0 and 1")]
    [InlineData("last_event_id=nonsense", "Invalid last_event_id")]
    [InlineData("types=agent_output,no_such_type", "Unknown event type in types")]
    [InlineData("types=all,no_such_type", "Unknown event type in types")]
    [InlineData("types=all&types=no_such_type", "Unknown event type in types")]
    public async Task MalformedQueryIsRefusedWith1008AndAReasonNamingTheParameter(string query, string reason)
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId, query));

        Assert.Null(await socket.ReceiveTextAsync());
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal(reason, socket.CloseStatusDescription);
    }
}
