using System.Collections.Concurrent;
using System.Net;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Security;

public sealed class BrowserSafetyTests
{
    [Theory]
    [InlineData("api/v1/ws/system/events")]
    [InlineData("hubs/workflows")]
    public async Task WebSocketUpgradeFromAForeignOriginIsRefused(string path)
    {
        await using var app = new FelixApplication();
        var client = app.Server.CreateWebSocketClient();
        client.ConfigureRequest = request => request.Headers.Origin = "https://evil.example";

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ConnectAsync(new Uri(app.Server.BaseAddress, path), CancellationToken.None).DefaultTimeout());

        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://localhost")] // the server's own origin: the dashboard it serves
    [InlineData("http://localhost:5173")] // a default CORS origin
    [InlineData(null)] // not a browser
    public async Task WebSocketUpgradeFromAnAllowedOriginOrNoneIsAccepted(string? origin)
    {
        await using var app = new FelixApplication();
        var client = app.Server.CreateWebSocketClient();
        client.ConfigureRequest = request =>
        {
            if (origin is not null)
            {
                request.Headers.Origin = origin;
            }
        };

        using var socket = await client.ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/ws/system/events"), CancellationToken.None).DefaultTimeout();

        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
    }

    [Fact]
    public async Task AnyOriginIsAcceptedWhenTheOperatorAllowsAll()
    {
        await using var app = new FelixApplication(new Dictionary<string, string?> { ["FELIX_CORS_ORIGINS"] = "*" });
        var client = app.Server.CreateWebSocketClient();
        client.ConfigureRequest = request => request.Headers.Origin = "null";

        using var socket = await client.ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/ws/system/events"), CancellationToken.None).DefaultTimeout();

        Assert.Equal("connected", (await socket.ReceiveJsonAsync())!.Type());
    }

    [Fact]
    public async Task KeysInQueryStringsStayOutOfTheLogs()
    {
        const string key = "very-secret-key-4711";
        var logs = new CapturingLoggerProvider();
        await using var app = new FelixApplication(new Dictionary<string, string?>
        {
            ["FELIX_API_KEY"] = key,
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = app.CreateApiClient();
        var created = await client.CreateWorkflowAsync("Log nothing secret", maxSteps: 1);

        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?api_key={key}");
        await socket.ReadToCloseAsync();
        var negotiate = await app.CreateClient().PostAsync($"hubs/workflows/negotiate?negotiateVersion=1&access_token={key}", null).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains(key, StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Messages);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}
