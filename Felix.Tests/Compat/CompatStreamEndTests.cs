using System.Net.WebSockets;
using Felix.Server.Compat;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// How a raw workflow stream ends when no terminal event ends it, through Kestrel: the server's shutdown, the client's
/// close, a client that never answers the server's close, a refused message. A workflow parked on an approval keeps its
/// stream idle, waiting for a live event that does not come.
/// </summary>
public sealed class CompatStreamEndTests
{
    [Fact]
    public async Task AnIdleStreamIsClosedWith1001WhenTheServerShutsDown()
    {
        await using var app = CreateServer();
        using var socket = await OpenIdleStreamAsync(app, await ParkWorkflowAsync(app));

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var rest = await socket.ReadToCloseAsync();

        Assert.Empty(rest.Events());
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.ServerShutdown, socket.CloseStatusDescription);
    }

    [Fact]
    public async Task AStreamWhoseClientClosesIsAnsweredAndLetsGoOfItsConnection()
    {
        await using var app = CreateServer();
        var workflowId = await ParkWorkflowAsync(app);
        using var socket = await OpenIdleStreamAsync(app, workflowId);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).DefaultTimeout();

        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        await WaitUntilClosedAsync(app, workflowId, "the stream to end after its client closed");
    }

    [Fact]
    public async Task AfterItsCloseFrameTheStreamWaitsForTheClientsReply()
    {
        // A client still reading the frames before the close must not be cut off, so the server holds the connection
        // until the reply (or the close timeout, far away here).
        await using var app = CreateServer(("Felix:Compat:CloseTimeout", "00:10:00"));
        var workflowId = await RunToEndAsync(app);
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId));
        var frames = await socket.ReadToCloseAsync();

        Assert.Equal("workflow_complete", frames[^1].Type());
        Assert.True(app.Services.GetRequiredService<CompatConnections>().PerWorkflow.ContainsKey(workflowId), "the server let go before the client's close reply");
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
        await WaitUntilClosedAsync(app, workflowId, "the stream to end on the client's close reply");
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task AClientThatNeverAnswersTheCloseIsLetGoAfterTheCloseTimeout()
    {
        await using var app = CreateServer(("Felix:Compat:CloseTimeout", "00:00:01"));
        var workflowId = await RunToEndAsync(app);

        // The client reads the run and the close frame, and never replies to it.
        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId));
        var frames = await socket.ReadToCloseAsync();
        Assert.Equal("workflow_complete", frames[^1].Type());
        Assert.Equal(WebSocketState.CloseReceived, socket.State);

        await WaitUntilClosedAsync(app, workflowId, "the stream to give up on the close reply and end");
    }

    [Fact]
    public async Task ABinaryMessageClosesTheStreamWith1003()
    {
        await using var app = CreateServer();
        var workflowId = await ParkWorkflowAsync(app);
        using var socket = await OpenIdleStreamAsync(app, workflowId);

        await socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None).DefaultTimeout();
        var rest = await socket.ReadToCloseAsync();

        Assert.Empty(rest.Events());
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.BinaryNotSupported, socket.CloseStatusDescription);
        await WaitUntilClosedAsync(app, workflowId, "the refused stream to end");
    }

    [Fact]
    public async Task AStoppingServerWaitsFiveSecondsForTheCloseReplyNotTheWholeCloseTimeout()
    {
        // A node that stops must not hang on a client that never answers its 1001: the client reconnects elsewhere and
        // resumes, so the server waits for the reply 5 s, not the (here ten-minute) close timeout of a stream's end.
        await using var app = CreateServer(("Felix:Compat:CloseTimeout", "00:10:00"));
        var workflowId = await ParkWorkflowAsync(app);
        using var socket = await OpenIdleStreamAsync(app, workflowId);

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var rest = await socket.ReadToCloseAsync();

        Assert.Empty(rest.Events());
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        Assert.Equal(WebSocketState.CloseReceived, socket.State);
        // 5 s and up to a ping beat; well before the host's own shutdown timeout (30 s) would abort the connection.
        await WaitUntilClosedAsync(app, workflowId, "the stopping server to give up on the close reply", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AClientResumingAfterTheTerminalEventGetsTheStatusThenANormalClose()
    {
        // The client already has the whole run: the stream says where the run is and ends as a finished run's stream does.
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app, maxSteps: 1);
        using var client = app.CreateApiClient();
        var terminal = (await client.ReadEventsAsync(workflowId))[^1];
        Assert.True(terminal.IsTerminal);

        using var socket = await app.ConnectRawAsync(WorkflowPath(workflowId, $"types=all&last_event_id={terminal.EventId}"));
        var frames = await socket.ReadToCloseAsync();

        Assert.Equal(["connected", "workflow_status"], frames.Types());
        Assert.Equal("completed", frames[1].Str("status"));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.WorkflowFinished, socket.CloseStatusDescription);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).DefaultTimeout();
        await WaitUntilClosedAsync(app, workflowId, "the stream to end on the client's close reply");
    }

    /// <summary>Starts a workflow that stops before its synthesis to wait for an approval nobody gives.</summary>
    private static async Task<string> ParkWorkflowAsync(FelixApplication app)
    {
        using var client = app.CreateApiClient();
        var workflowId = await client.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        await client.WaitForPendingApprovalAsync(workflowId);
        return workflowId;
    }

    /// <summary>A stream of a parked workflow, read up to its last stored event: from here on it waits for a live event.</summary>
    private static async Task<WebSocket> OpenIdleStreamAsync(FelixApplication app, string workflowId)
    {
        using var client = app.CreateApiClient();
        var last = (await client.ReadEventsAsync(workflowId))[^1].EventId;
        var socket = await app.ConnectRawAsync(WorkflowPath(workflowId, "types=all"));
        while ((await socket.ReceiveJsonAsync())?["event_id"]?.GetValue<string>() != last)
        {
        }

        return socket;
    }

    private static Task WaitUntilClosedAsync(FelixApplication app, string workflowId, string what, TimeSpan? limit = null)
    {
        var connections = app.Services.GetRequiredService<CompatConnections>();
        return Poll.UntilAsync(() => Task.FromResult(!connections.PerWorkflow.ContainsKey(workflowId)), what, limit);
    }
}
