using System.Net.WebSockets;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Compat.CompatTestSupport;

namespace Felix.Tests.Compat;

/// <summary>A client that breaks the protocol while it is still sending reads why: the close code and its reason, on either stream.</summary>
public sealed class CompatClientFaultTests
{
    [Theory]
    [InlineData("workflow")]
    [InlineData("system")]
    public async Task AnOversizedMessageStillArrivingGetsThe1009CloseAndItsReason(string stream)
    {
        await using var app = CreateServer(("Felix:Approvals:BeforeSynthesis", "true"));
        var path = stream == "system" ? $"api/v1/ws/system/events?api_key={Key}" : WorkflowPath(await CreateWaitingWorkflowAsync(app));
        using var socket = await app.ConnectRawAsync(path);

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

    private static async Task<string> CreateWaitingWorkflowAsync(FelixApplication app)
    {
        using var client = app.CreateApiClient();
        return (await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1)).WorkflowId;
    }
}
