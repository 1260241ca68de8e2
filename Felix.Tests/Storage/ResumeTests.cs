using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Felix.Tests.Storage;

/// <summary>Resume from a position on every transport, against history a previous server process wrote.</summary>
public sealed class ResumeTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _files = new();
    private FelixApplication _app = null!;
    private string _workflowId = "";
    private string _epoch = "";
    private long _last;

    public async Task InitializeAsync()
    {
        var settings = StorageTestSettings.SqliteFile(_files.Directory);
        await using (var first = new FelixApplication(settings))
        {
            var client = first.CreateApiClient();
            _workflowId = (await client.CreateWorkflowAsync(maxSteps: 2)).WorkflowId;
            await client.WaitForTerminalAsync(_workflowId);
        }

        // A new server on the same file answers from the stored history.
        _app = new FelixApplication(settings);
        var page = await ReadRestAsync("after=0&limit=1000");
        _epoch = page["epoch"]!.GetValue<string>();
        _last = page["events"]!.AsArray().Count;
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _files.DisposeAsync();
    }

    private long Middle => _last / 2;

    private IEnumerable<long> Rest => Enumerable.Range((int)Middle + 1, (int)(_last - Middle)).Select(i => (long)i);

    [Fact]
    public async Task RawLastEventIdFromTheMiddleGivesExactlyTheRest()
    {
        using var socket = await _app.ConnectRawAsync($"api/v1/ws/workflows/{_workflowId}?types=all&last_event_id={_epoch}-{Middle}");
        var frames = await socket.ReadToCloseAsync();

        var snapshot = frames.Single(f => f.Type() == "workflow_status" && f["last_sequence"] is not null);
        Assert.Null(snapshot["replayed_from_start"]);
        Assert.Equal(Rest, frames.Where(f => f["sequence"] is not null).Select(f => f["sequence"]!.GetValue<long>()));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubStreamEventsAfterSequenceFromTheMiddleGivesExactlyTheRest(string protocol)
    {
        await using var connection = _app.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        var sequences = new List<long>();
        await foreach (var evt in connection.StreamAsync<WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), _workflowId, Middle, (string[]?)null)
            .WithCancellation(new CancellationTokenSource(TestTimeouts.Default).Token))
        {
            sequences.Add(evt.Sequence);
        }

        Assert.Equal(Rest, sequences);
    }

    [Fact]
    public async Task RestAfterFromTheMiddleGivesExactlyTheRestInPages()
    {
        var sequences = new List<long>();
        var after = Middle;
        while (true)
        {
            var page = await ReadRestAsync($"after={after}&limit=3&epoch={_epoch}");
            Assert.False(page["replayed_from_start"]!.GetValue<bool>());
            sequences.AddRange(page["events"]!.AsArray().Select(e => e!["sequence"]!.GetValue<long>()));
            after = page["next_after"]!.GetValue<long>();
            if (!page["has_more"]!.GetValue<bool>())
            {
                break;
            }
        }

        Assert.Equal(Rest, sequences);
    }

    [Fact]
    public async Task RawPositionFromAnotherEpochReplaysFromStartFlagged()
    {
        using var socket = await _app.ConnectRawAsync($"api/v1/ws/workflows/{_workflowId}?types=all&last_event_id=0badc0de-{Middle}");
        var frames = await socket.ReadToCloseAsync();

        var snapshot = frames.First(f => f.Type() == "workflow_status");
        Assert.True(snapshot["replayed_from_start"]!.GetValue<bool>());
        Assert.Equal(_epoch, snapshot["epoch"]!.GetValue<string>());
        Assert.Equal(1, frames.First(f => f["sequence"] is not null)["sequence"]!.GetValue<long>());
    }

    [Fact]
    public async Task RestPositionFromAnotherEpochReplaysFromStartFlagged()
    {
        var page = await ReadRestAsync($"after={Middle}&limit=1000&epoch=0badc0de");

        Assert.True(page["replayed_from_start"]!.GetValue<bool>());
        Assert.Equal(_epoch, page["epoch"]!.GetValue<string>());
        Assert.Equal(_last, page["events"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubPositionBeyondTheStoredStreamReplaysFromStartFlagged(string protocol)
    {
        await using var connection = _app.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();

        // A position past the end belongs to a stream this server never had (the hub takes no epoch).
        var subscription = await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), _workflowId, _last + 50).DefaultTimeout();

        Assert.True(subscription.ReplayedFromStart);
        Assert.Equal(_epoch, subscription.Epoch);
        Assert.Equal(_last, subscription.Events.Count);
        Assert.Equal(WorkflowStatuses.Completed, subscription.Workflow.Status);
    }

    private async Task<JsonObject> ReadRestAsync(string query) =>
        (await _app.CreateApiClient().GetFromJsonAsync<JsonObject>($"api/v1/workflows/{_workflowId}/events?{query}", WorkflowApiExtensions.Json).DefaultTimeout())!;
}
