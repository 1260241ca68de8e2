using Felix.Contracts;
using Felix.Server.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Hubs;

/// <summary>A client's bad hub calls cannot fill the server's log, nor write raw bytes into it.</summary>
public sealed class HubLoggingTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task RepeatedBadCallsLogAFewEscapedLinesWithoutStacks(string protocol)
    {
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        await using var connection = app.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();
        var before = logs.Entries.Count; // the start-up lines

        for (var i = 0; i < 50; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() =>
                connection.InvokeAsync<Felix.Contracts.Dtos.WorkflowSubscription?>(nameof(IWorkflowHub.Subscribe), "nope\0\n\u001b[2J", null).DefaultTimeout());
            Assert.Contains("not found", refused.Message, StringComparison.Ordinal);
        }

        var after = logs.Entries.Skip(before).ToList();
        // The client still gets every refusal; the log has a handful of Information lines for fifty.
        var lines = after.Where(e => e.Category == typeof(HubErrorFilter).FullName).ToList();
        Assert.Equal(HubErrorFilter.MistakesPerMinute + 1, lines.Count);
        Assert.All(lines, l => Assert.Equal(LogLevel.Information, l.Level));
        Assert.DoesNotContain(after, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain(after, e => e.Exception is not null);
        Assert.Contains(@"nope\u0000\u000a\u001b[2J", lines[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(after, e => e.Message.Contains('\0', StringComparison.Ordinal) || e.Message.Contains('\u001b', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task AStreamRefusedWhileReadIsOneInformationLineWithoutAStack(string protocol)
    {
        var logs = new LogCapture();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        await using var connection = app.CreateHubConnection(protocol);
        await connection.StartAsync().DefaultTimeout();
        var before = logs.Entries.Count;

        var stream = connection.StreamAsync<Felix.Contracts.Events.WorkflowEvent>(nameof(IWorkflowHub.StreamEvents), "nope\u0007", null, null);
        var refused = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in stream)
            {
            }
        }).DefaultTimeout();

        Assert.Contains("not found", refused.Message, StringComparison.Ordinal);
        var after = logs.Entries.Skip(before).ToList();
        var line = Assert.Single(after, e => e.Category == typeof(HubErrorFilter).FullName);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains(@"nope\u0007", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(after, e => e.Level >= LogLevel.Warning || e.Exception is not null);
    }
}
