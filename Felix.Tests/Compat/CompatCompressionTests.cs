using System.Net.WebSockets;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>permessage-deflate on the raw endpoint: negotiated when a client offers it, never forced on one that does not.</summary>
public sealed class CompatCompressionTests
{
    [Fact]
    public async Task ClientOfferingDeflateGetsItAndReadsTheWholeRun()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = (ClientWebSocket)await app.ConnectRawAsync(WorkflowPath(workflowId, "types=all"), o =>
        {
            o.DangerousDeflateOptions = new WebSocketDeflateOptions();
            o.CollectHttpResponseDetails = true;
        });

        Assert.Contains("permessage-deflate", Extensions(socket), StringComparison.Ordinal);
        var frames = await socket.ReadToCloseAsync();
        Assert.Equal("workflow_complete", frames[^1].Type());
        Assert.Equal(Enumerable.Range(1, frames.Events().Count).Select(i => (long)i), frames.Events().Select(e => e.Sequence()));
    }

    [Fact]
    public async Task ClientNotOfferingDeflateGetsPlainFrames()
    {
        await using var app = CreateServer();
        var workflowId = await RunToEndAsync(app);

        using var socket = (ClientWebSocket)await app.ConnectRawAsync(WorkflowPath(workflowId), o => o.CollectHttpResponseDetails = true);

        Assert.Equal("", Extensions(socket));
        Assert.Equal("workflow_complete", (await socket.ReadToCloseAsync())[^1].Type());
    }

    [Fact]
    public async Task CompressionCanBeSwitchedOff()
    {
        await using var app = CreateServer(("Felix:Compat:EnableCompression", "false"));
        var workflowId = await RunToEndAsync(app);

        using var socket = (ClientWebSocket)await app.ConnectRawAsync(WorkflowPath(workflowId), o =>
        {
            o.DangerousDeflateOptions = new WebSocketDeflateOptions();
            o.CollectHttpResponseDetails = true;
        });

        Assert.Equal("", Extensions(socket));
        Assert.Equal("workflow_complete", (await socket.ReadToCloseAsync())[^1].Type());
    }

    private static string Extensions(ClientWebSocket socket) =>
        socket.HttpResponseHeaders is { } headers && headers.TryGetValue("Sec-WebSocket-Extensions", out var values) ? string.Join(",", values) : "";
}
