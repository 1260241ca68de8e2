using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Tests.Infrastructure;
using Felix.Tests.Storage;

namespace Felix.Tests.AgUi;

/// <summary>A thread finds its workflow after a restart: the mapping is the workflow's id, kept by the store.</summary>
public sealed class AgUiRestartTests : DataDirectoryTest
{
    [Fact]
    public async Task AfterARestartTheSameThreadAndMessageWatchTheSameWorkflowAgain()
    {
        List<string> before;
        await using (var app = new FelixApplication(StorageTestSettings.SqliteFile(Files.Directory), kestrel: true))
        {
            using var client = app.CreateApiClient();
            before = await RunAsync(client);
        }

        await using var restarted = new FelixApplication(StorageTestSettings.SqliteFile(Files.Directory), kestrel: true);
        using var again = restarted.CreateApiClient();
        var after = await RunAsync(again);

        Assert.Equal(before, after);
        var workflows = (await again.GetFromJsonAsync<JsonObject>("api/v1/workflows").DefaultTimeout())!;
        Assert.Equal(1, workflows["total"]!.GetValue<int>());
        Assert.Equal(WorkflowStatuses.Completed, workflows["workflows"]![0]!["status"]!.GetValue<string>());
    }

    /// <summary>The run's workflow id, then each event from the workflow's stream with its id (the run id left out).</summary>
    private static async Task<List<string>> RunAsync(HttpClient client)
    {
        using var response = await client.PostRunAsync("thread-restart", $"run-{Guid.NewGuid():N}", "Explain quantum computing", new { max_steps = 1 });
        var frames = new List<string>();
        await foreach (var (id, evt) in response.ReadEventsAsync())
        {
            if (AgUiProtocolRules.Type(evt) == "RUN_STARTED")
            {
                frames.Add(evt["metadata"]!["felix"]!["workflowId"]!.GetValue<string>());
            }
            else if (id is not null)
            {
                evt.Remove("runId");
                frames.Add($"{id} {evt.ToJsonString()}");
            }
        }

        return frames;
    }
}
