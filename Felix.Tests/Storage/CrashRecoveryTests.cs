using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_files.Directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _files.DisposeAsync().AsTask();

    [Fact]
    public async Task KilledServerLosesNoAcknowledgedEventAndTheNextReportsTheInterruptedWorkflow()
    {
        var settings = StorageTestSettings.SqliteFile(_files.Directory, ("Felix:Llm:OfflineTokenDelay", "00:00:00.050"));
        var seen = new List<JsonObject>();
        string workflowId;
        await using (var server = await ServerProcess.StartAsync(_files.Directory, settings.ToDictionary(p => p.Key, p => p.Value!)))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            workflowId = (await http.CreateWorkflowAsync(maxSteps: 3)).WorkflowId;
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(server.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + $"api/v1/ws/workflows/{workflowId}?types=all"), CancellationToken.None).DefaultTimeout();
            // An event a client received was acknowledged: it was written before it was sent.
            while (seen.Count < 6 && await socket.ReceiveJsonAsync() is { } frame)
            {
                if (frame["sequence"] is not null)
                {
                    seen.Add(frame);
                }
            }

            await server.KillAsync();
        }

        Assert.Equal(6, seen.Count);
        Assert.DoesNotContain(seen, f => f.Type() is "workflow_complete" or "workflow_error");

        await using var app = new FelixApplication(settings);
        var client = app.CreateApiClient();
        var workflow = await client.GetWorkflowAsync(workflowId);
        var page = (await client.GetFromJsonAsync<JsonObject>($"api/v1/workflows/{workflowId}/events?after=0&limit=1000", WorkflowApiExtensions.Json).DefaultTimeout())!;
        var stored = page["events"]!.AsArray().Select(e => e!.AsObject()).ToList();

        Assert.Equal(WorkflowStatuses.Failed, workflow.Status);
        Assert.Equal(WorkflowErrors.Interrupted, workflow.Error);
        // Every acknowledged event is there once, unchanged; the sequences run on without a gap or reuse.
        foreach (var frame in seen)
        {
            Assert.Single(stored, e => e["event_id"]!.GetValue<string>() == frame["event_id"]!.GetValue<string>());
        }

        var sequences = stored.Select(e => e["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(i => (long)i), sequences);
        Assert.Single(stored.Select(e => e["epoch"]!.GetValue<string>()).Distinct());
        Assert.Equal(["workflow_status", "workflow_error"], stored.TakeLast(2).Select(e => e.Type()));
        Assert.Equal(WorkflowStatuses.Failed, stored[^2]["status"]!.GetValue<string>());
        Assert.Equal(WorkflowErrors.Interrupted, stored[^1]["error"]!.GetValue<string>());
        Assert.True(stored[^2]["sequence"]!.GetValue<long>() > seen.Max(f => f["sequence"]!.GetValue<long>()));

        // A raw client that connects now replays the history and ends with the interruption.
        using var raw = await app.ConnectRawAsync($"api/v1/ws/workflows/{workflowId}?types=all");
        var frames = await raw.ReadToCloseAsync();
        Assert.Equal("workflow_error", frames[^1].Type());
        Assert.Equal(WorkflowErrors.Interrupted, frames[^1]["error"]!.GetValue<string>());
        Assert.Equal(sequences.Count, frames.Count(f => f["sequence"] is not null));
    }
}
