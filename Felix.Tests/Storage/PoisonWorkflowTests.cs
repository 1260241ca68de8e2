using Felix.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Workflows;
using Felix.Tests.Agents;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>
/// A workflow whose model call takes the server down each time (here: the test SIGKILLs the server whenever that call
/// arrives) fails after <c>MaxAttempts</c> starts instead of forever, and the other workflows complete.
/// </summary>
public sealed class PoisonWorkflowTests : DataDirectoryTest
{
    private const int MaxAttempts = 3;
    private const string Poison = "POISON pill";

    [Fact]
    public async Task AWorkflowThatKillsItsRunnerFailsAfterMaxAttemptsAndTheRestComplete()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        model.HoldWhen = body => body.ToJsonString().Contains(Poison, StringComparison.Ordinal);
        var settings = StorageTestSettings.SqliteFile(Files.Directory,
            ("Felix:Llm:Provider", "OpenAI"), ("Felix:Llm:Endpoint", model.Endpoint.ToString()), ("Felix:Llm:Model", "fake-model"),
            ("Felix:Llm:MaxRetries", "0"), ("Felix:Workflows:MaxConcurrent", "2"),
            ("Felix:Workflows:MaxAttempts", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToDictionary(p => p.Key, p => p.Value!);
        string poison = "";
        var others = new List<string>();

        for (var start = 1; start <= MaxAttempts; start++)
        {
            await using var server = await ServerProcess.StartAsync(Files.Directory, settings);
            if (start == 1)
            {
                using var http = new HttpClient { BaseAddress = server.BaseAddress };
                poison = (await http.CreateWorkflowAsync(Poison, maxSteps: 2)).WorkflowId;
                others.Add((await http.CreateWorkflowAsync("An ordinary task", maxSteps: 2)).WorkflowId);
                others.Add((await http.CreateWorkflowAsync("Another ordinary task", maxSteps: 2)).WorkflowId);
            }

            Assert.True(await model.Held.WaitAsync(TimeSpan.FromSeconds(60)), $"start {start} never reached the poisoned call");
            if (start == 1)
            {
                // The rest keep going while the poisoned run hangs in its model call.
                using var http = new HttpClient { BaseAddress = server.BaseAddress };
                foreach (var id in others)
                {
                    Assert.Equal(WorkflowStatuses.Completed, (await http.WaitForTerminalAsync(id, TimeSpan.FromSeconds(60))).Status);
                }
            }

            await server.KillAsync();
        }

        await using var app = new FelixApplication(settings!);
        var client = app.CreateApiClient();

        var failed = await client.WaitForTerminalAsync(poison, TimeSpan.FromSeconds(60));
        Assert.Equal((WorkflowStatuses.Failed, WorkflowErrors.GaveUp(MaxAttempts)), (failed.Status, failed.Error));
        var history = await client.ReadEventsAsync(poison);
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e.Sequence));
        Assert.Equal(WorkflowErrors.GaveUp(MaxAttempts), Assert.IsType<WorkflowErrorEvent>(Assert.Single(history, e => e.IsTerminal)).Error);
        Assert.True(history[^1].IsTerminal);
        foreach (var id in others)
        {
            Assert.Equal((WorkflowStatuses.Completed, 1), ((await client.GetWorkflowAsync(id)).Status, (await client.GetWorkflowAsync(id)).Attempts));
            DurableHistory.AssertOneRun(await client.ReadEventsAsync(id));
        }
    }
}
