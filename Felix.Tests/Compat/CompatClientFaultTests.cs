using System.Net.WebSockets;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>
/// A client that breaks the protocol while it is still sending reads why: the close code and its reason, on either
/// stream. The server reads what the client still sends until its close reply; closing the connection with that data
/// unread would reset it, and the reset would take the close frame with it.
/// </summary>
public sealed class CompatClientFaultTests
{
    [Theory]
    [InlineData("workflow")]
    [InlineData("system")]
    public async Task AnOversizedMessageStillArrivingGetsThe1009CloseAndItsReason(string stream)
    {
        await using var app = CreateServer(("Felix:Approvals:BeforeSynthesis", "true"));
        using var socket = await app.ConnectRawAsync(await PathAsync(app, stream));

        // 64 KB in 1 KB fragments, sent without reading: the server refuses after 4 KB, while the rest is on its way.
        var fragment = new byte[1024];
        Array.Fill(fragment, (byte)'x');
        for (var i = 0; i < 64; i++)
        {
            await socket.SendAsync(fragment, WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None).DefaultTimeout();
        }

        while (await socket.ReceiveTextAsync() is not null)
        {
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
        Assert.Equal(CompatCloseCodes.MessageTooBig, socket.CloseStatusDescription);
    }

    /// <summary>
    /// Python's <c>websockets</c>, the original's client library, sending a 5 MB message in fragments: it is still
    /// writing when the refusal comes, and reads the close only once it stops.
    /// </summary>
    [Theory]
    [InlineData("workflow")]
    [InlineData("system")]
    public async Task APythonClientStillSendingAnOversizedMessageReads1009AndTheReason(string stream)
    {
        await using var app = CreateServer(("Felix:Approvals:BeforeSynthesis", "true"));
        var url = new Uri(new Uri(app.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal)), await PathAsync(app, stream));
        const string script = """
            import asyncio, sys, websockets
            async def main():
                async with websockets.connect(sys.argv[1], compression=None) as ws:
                    try:
                        await ws.send(iter(["x" * 1000] * 5000))
                        async for _ in ws:
                            pass
                    except websockets.ConnectionClosed:
                        pass
                    except websockets.exceptions.InvalidState:
                        # The legacy protocol raises this instead of ConnectionClosed when the close frame
                        # arrives between two fragments; the close itself was read all the same.
                        await ws.wait_closed()
                    print(ws.close_code, ws.close_reason)
            asyncio.run(main())
            """;

        var result = await ChildProcess.RunAsync(ChildProcess.StartInfo(PythonClient.Interpreter, ["-c", script, url.ToString()]), TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"1009 {CompatCloseCodes.MessageTooBig}", result.Stdout.Trim());
    }

    private static async Task<string> PathAsync(FelixApplication app, string stream)
    {
        if (stream == "system")
        {
            return $"api/v1/ws/system/events?api_key={Key}";
        }

        // Before synthesis the workflow waits for an approval, so its stream stays open.
        using var client = app.CreateApiClient();
        return WorkflowPath((await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1)).WorkflowId);
    }
}
