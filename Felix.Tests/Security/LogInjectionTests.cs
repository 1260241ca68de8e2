using System.Net.WebSockets;
using Felix.Tests.AgUi;
using Felix.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Security;

/// <summary>
/// What a client sends reaches the log escaped at every level: an escape sequence recolours or clears the operator's
/// terminal, and a carriage return or line feed forges a line that reads as the server's own.
/// </summary>
public sealed class LogInjectionTests
{
    private const string Forged = "\u001b[2J\r\n2026-12-07T03:00:00.000Z crit: Felix.Server.Startup[9100] forged";

    [Fact]
    public async Task ClientTextReachesTheDebugLogEscaped()
    {
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["Logging:LogLevel:Felix"] = "Debug" })
            .WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateApiClient();

        // A raw stream for a workflow id that names no workflow: refused, and its close is logged.
        using (var socket = await app.ConnectRawAsync("api/v1/ws/workflows/" + Uri.EscapeDataString("wf_" + Forged)))
        {
            await socket.ReadToCloseAsync();
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        }

        // An AG-UI run's thread id is the client's.
        using (var run = await client.PostRunAsync("thread" + Forged, "run-1", "Explain quantum computing", new { max_steps = 1 }))
        {
            await run.ReadAllEventsAsync();
        }

        await Poll.UntilAsync(() => Task.FromResult(logs.Entries.Any(e => e.EventId == 8001) && logs.Entries.Any(e => e.EventId == 3002)),
            "the AG-UI run's and the raw stream's lines");
        Assert.All(
            logs.Entries.Where(e => e.Category.StartsWith("Felix.", StringComparison.Ordinal)),
            e => Assert.False(e.Message.IndexOfAny(['\u001b', '\r', '\n']) >= 0, $"[{e.EventId}] {e.Message}"));
    }
}
