using System.Net.WebSockets;
using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>
/// Token usage counts what was spent: a server killed (SIGKILL) in the middle of an agent's step never hears the model's
/// usage for it, so the run that resumes on the same data counts that abandoned step as an estimate, flagged, on top of
/// the exact usage of the steps that committed.
/// </summary>
public sealed class AbandonedUsageTests : DataDirectoryTest
{
    [Fact]
    public async Task KilledMidStepTheFinalUsageAddsAnEstimateOfTheAbandonedStep()
    {
        // The model streams a few words of the second step and then nothing, so the kill lands inside that step however
        // far the watcher lags behind the server; the restarted server's calls (the third on) stream in full.
        await using var model = await FakeOpenAIServer.StartAsync();
        model.Fault = StreamFault.Silence;
        model.FaultAfterWords = 4;
        model.FaultWhen = request => request == 2;
        model.WordDelay = TimeSpan.FromMilliseconds(20);
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
                ("Felix:Llm:Provider", "OpenAI"), ("Felix:Llm:Endpoint", model.Endpoint.ToString()), ("Felix:Llm:Model", FakeOpenAIServer.ModelName))
            .ToDictionary(p => p.Key, p => p.Value!);
        string id;
        string abandonedAgent;
        var abandonedText = "";
        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            id = (await http.CreateWorkflowAsync("Compare tea and coffee for a long night of work", maxSteps: 2)).WorkflowId;
            (abandonedAgent, abandonedText) = await WatchUntilMidStepAsync(server.BaseAddress, id);
            await server.KillAsync();
        }

        await using (var server = await ServerProcess.StartAsync(Files.Directory, settings))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            var workflow = await http.WaitForTerminalAsync(id, TimeSpan.FromSeconds(90));
            Assert.Equal(WorkflowStatuses.Completed, workflow.Status);
            Assert.Equal(2, workflow.Attempts);
            var events = await http.ReadEventsAsync(id);
            var complete = Assert.IsType<WorkflowCompleteEvent>(events[^1]);
            var usage = complete.Usage!;
            var exact = events.OfType<AgentCompletedEvent>().ToList();
            Assert.Contains(exact, e => e.AgentId == abandonedAgent);

            // One call abandoned: the committed agents, the synthesis, and the step that was in flight.
            Assert.Equal(1, usage.AbandonedCalls);
            Assert.Equal(exact.Count + 2, usage.LlmCalls);
            Assert.NotNull(usage.EstimatedTokens);
            // The estimate holds at least the text the client saw streamed before the kill, and the prompt it was sent.
            Assert.True(usage.EstimatedTokens > abandonedText.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length,
                $"estimated {usage.EstimatedTokens} tokens for an abandoned step that streamed \"{abandonedText}\"");
            Assert.True(usage.TotalTokens >= exact.Sum(e => e.PromptTokens + e.CompletionTokens) + complete.Synthesis.TokenCount + usage.EstimatedTokens);
            Assert.Equal(usage.PromptTokens + usage.CompletionTokens, usage.TotalTokens);

            // GET shows the same usage as the terminal event.
            var metrics = workflow.PerformanceMetrics!;
            Assert.Equal(
                (usage.LlmCalls, usage.TotalTokens, usage.EstimatedTokens, usage.AbandonedCalls),
                (metrics.LlmCalls, metrics.TotalTokens, metrics.EstimatedTokens, metrics.AbandonedCalls));
        }
    }

    /// <summary>
    /// Reads the workflow's stream until an agent after the first has streamed some text without committing it; returns
    /// that agent and its first delta (every frame seen was written before it was sent, so the history has it).
    /// </summary>
    private static async Task<(string AgentId, string Text)> WatchUntilMidStepAsync(Uri server, string workflowId)
    {
        using var socket = new ClientWebSocket();
        var uri = new Uri(server.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all");
        await socket.ConnectAsync(uri, CancellationToken.None).DefaultTimeout();
        var committed = 0;
        while (await socket.ReceiveJsonAsync() is { } frame)
        {
            switch (frame.Type())
            {
                case "agent_output":
                    committed++;
                    break;
                case "agent_output_delta" when committed > 0:
                    // The step's first delta: its call goes silent after a few words, which the server may have coalesced
                    // into this one delta or a couple, so waiting for more could wait for nothing.
                    return (frame["agent_id"]!.GetValue<string>(), frame["delta"]!.GetValue<string>());
                case "workflow_complete":
                    Assert.Fail("the workflow ended before the server could be killed mid-step");
                    break;
            }
        }

        throw new InvalidOperationException($"The stream closed before a second step streamed ({committed} steps committed).");
    }
}
