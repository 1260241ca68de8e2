using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;

namespace Felix.Tests.AgUi;

/// <summary>A thread's run on node B finds the workflow a run on node A started (the Redis store) and resumes it.</summary>
public sealed class AgUiScaleoutTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task AClientThatDropsFromNodeAResumesOnNodeBWithoutGapOrDuplicate()
    {
        await using var cluster = new ScaleoutCluster(redis);
        var slow = new Dictionary<string, string?> { ["Felix:Llm:OfflineTokenDelay"] = "00:00:00.004" };
        using var a = cluster.StartNode("a", settings: slow).CreateApiClient();
        using var b = cluster.StartNode("b", settings: slow).CreateApiClient();

        var first = new List<(string? Id, JsonObject Event)>();
        using (var response = await a.PostRunAsync("thread-nodes", "run-1", "Explain quantum computing", new { max_steps = 2 }))
        {
            await foreach (var frame in response.ReadEventsAsync())
            {
                first.Add(frame);
                if (first.Count(f => AgUiProtocolRules.Type(f.Event) == "TEXT_MESSAGE_CONTENT") == 20)
                {
                    break;
                }
            }
        }

        var second = await (await b.PostRunAsync("thread-nodes", "run-2", "Explain quantum computing", lastEventId: first.Last(f => f.Id is not null).Id))
            .ReadAllEventsAsync();

        var workflowId = first.WorkflowOf();
        Assert.Equal(workflowId, second.WorkflowOf());
        AgUiProtocolRules.AssertValidRun(second.Select(f => f.Event).ToList());
        var reference = await (await b.PostRunAsync("thread-nodes", "run-3", "Explain quantum computing")).ReadAllEventsAsync();

        Assert.Equal(reference.Positioned(), first.Positioned().Concat(second.Positioned()));
        Assert.Equal(WorkflowStatuses.Completed, (await a.GetWorkflowAsync(workflowId)).Status);
    }
}
