using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Contracts.Events;
using Felix.Contracts.Serialization;
using Felix.Server.Compat;
using Felix.Tests.Infrastructure;
using Felix.Tests.Security;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Felix.Tests.Approvals;

/// <summary>
/// A connection opened with a JWT is closed when the token expires (hubs: CloseOnAuthenticationExpiration; raw: close
/// 4001), and a client that reconnects with a fresh token resumes from its last event with no gap and no duplicate.
/// A workflow waiting for approval keeps the stream open long enough for the token to run out.
/// </summary>
public sealed class TokenExpiryTests
{
    private static FelixApplication CreateApp(bool kestrel = false) =>
        TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Security:Jwt:ClockSkew"] = "00:00:00" }, kestrel);

    private static string Token(TimeSpan lifetime, string? scope = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "felix-tests",
            Audience = "felix",
            Claims = scope is null
                ? new Dictionary<string, object> { ["sub"] = "watcher", ["tenant"] = "tenant-a" }
                : new Dictionary<string, object> { ["sub"] = "watcher", ["tenant"] = "tenant-a", ["scope"] = scope },
            NotBefore = DateTime.UtcNow.AddMinutes(-1),
            Expires = DateTime.UtcNow + lifetime,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TenantApplication.JwtSigningKey)), SecurityAlgorithms.HmacSha256),
        });

    [Fact]
    public async Task RawStreamClosesWith4001WhenItsTokenExpiresAndResumesOnAFreshOneWithoutLoss()
    {
        // The stream's Information line says why it closed (the console shows warnings only in tests).
        var logs = new LogCapture();
        await using var app = CreateApp().WithServices(s => s
            .AddSingleton<ILoggerProvider>(logs)
            .Configure<LoggerFilterOptions>(o => o.Rules.Add(
                new LoggerFilterRule(typeof(LogCapture).FullName, typeof(CompatWorkflowStream).FullName, LogLevel.Information, null))));
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        var id = await owner.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        // Waiting before the token is made: on a busy machine the run can take longer to reach it than the token lasts.
        await owner.WaitForPendingApprovalAsync(id);

        using var first = await app.ConnectRawAsync($"api/v1/ws/workflows/{id}?types=all&api_key={Token(TimeSpan.FromSeconds(3))}");
        var seen = (await first.ReadToCloseAsync(TimeSpan.FromSeconds(20))).Where(f => f["sequence"] is not null).ToList();
        var closeStatus = first.CloseStatus;
        var closeReason = first.CloseStatusDescription;
        Assert.Contains(seen, f => f.Type() == EventTypes.ApprovalRequested);

        using var second = await app.ConnectRawAsync(
            $"api/v1/ws/workflows/{id}?types=all&api_key={Token(TimeSpan.FromHours(1))}&last_event_id={seen[^1]["event_id"]}");
        var pending = await owner.WaitForPendingApprovalAsync(id);
        using var approver = app.CreateApiClient(TenantApplication.AdminKey);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await approver.DecideAsync(id, pending.ApprovalId, "approve")).StatusCode);
        var rest = (await second.ReadToCloseAsync()).Where(f => f["sequence"] is not null).ToList();

        Assert.Equal((WebSocketCloseStatus)4001, closeStatus);
        Assert.Equal("Token expired: reconnect with a fresh token and last_event_id", closeReason);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, second.CloseStatus);
        var stored = await owner.ReadEventsAsync(id);
        Assert.Equal(stored.Select(e => e.EventId), seen.Concat(rest).Select(f => f["event_id"]!.GetValue<string>()));
        Assert.Equal(EventTypes.WorkflowComplete, rest[^1].Type());
        Assert.Single(logs.Entries, e => e.EventId == 3004 && e.Level == LogLevel.Information && e.Message.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RawSystemStreamClosesWith4001WhenItsTokenExpires()
    {
        await using var app = CreateApp();
        // Started before the token is made: on a busy machine a cold start can outlast a two-second token.
        _ = app.Server;

        using var socket = await app.ConnectRawAsync($"api/v1/ws/system/events?api_key={Token(TimeSpan.FromSeconds(2), "felix.admin")}");
        var frames = await socket.ReadToCloseAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("connected", frames[0].Type());
        Assert.Equal((WebSocketCloseStatus)4001, socket.CloseStatus);
        Assert.Equal("Token expired: reconnect with a fresh token; events in between are not replayed", socket.CloseStatusDescription);
        Assert.DoesNotContain("last_event_id", socket.CloseStatusDescription, StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(socket.CloseStatusDescription!) <= 123, "a close reason is at most 123 bytes");
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task HubConnectionClosesWhenItsTokenExpiresAndResumesOnAFreshOneWithoutLoss(string protocol)
    {
        await using var app = CreateApp(kestrel: true);
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        var tokens = 0;
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = new HubConnectionBuilder().WithUrl(new Uri(app.BaseAddress, "hubs/workflows"), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            // The first connection's token runs out in seconds; after that the factory gives fresh ones. Minted when asked
            // for, so a connection slowed by a loaded machine never presents one that already ran out.
            o.AccessTokenProvider = () =>
            {
                Interlocked.Increment(ref tokens);
                return Task.FromResult<string?>(Token(closed.Task.IsCompleted ? TimeSpan.FromHours(1) : TimeSpan.FromSeconds(3)));
            };
        });
        builder = protocol == "json"
            ? builder.AddJsonProtocol(o => o.PayloadSerializerOptions.AddFelixConverters())
            : builder.AddMessagePackProtocol(o => o.SerializerOptions = o.SerializerOptions.WithFelixResolver());
        await using var connection = builder.Build();
        var received = new List<WorkflowEvent>();
        var terminal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var method in new[] { nameof(IWorkflowClient.WorkflowStatus), nameof(IWorkflowClient.AgentSpawned), nameof(IWorkflowClient.AgentOutput),
            nameof(IWorkflowClient.AgentOutputDelta), nameof(IWorkflowClient.AgentCompleted), nameof(IWorkflowClient.SynthesisStarted),
            nameof(IWorkflowClient.WorkflowProgress), nameof(IWorkflowClient.WorkflowComplete), nameof(IWorkflowClient.ApprovalRequested),
            nameof(IWorkflowClient.ApprovalResolved), nameof(IWorkflowClient.AgentReasoningDelta), nameof(IWorkflowClient.WorkflowError) })
        {
            connection.On<WorkflowEvent>(method, e => Add([e]));
        }

        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await connection.StartAsync().DefaultTimeout();
        var id = await owner.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        Add((await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), id, null).DefaultTimeout()).Events);

        // Closed by the server while the workflow still waits: nothing else would end this connection.
        await closed.Task.DefaultTimeout(TimeSpan.FromSeconds(20));
        // Not ended (it cannot end before the approval): on a busy machine it may not have reached the approval yet.
        Assert.Contains((await owner.GetWorkflowAsync(id)).Status, new[] { WorkflowStatuses.Pending, WorkflowStatuses.Running, WorkflowStatuses.AwaitingApproval });
        await connection.StartAsync().DefaultTimeout();
        long last;
        lock (received)
        {
            last = received.Max(e => e.Sequence);
        }

        Add((await connection.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), id, last).DefaultTimeout()).Events);
        var pending = await owner.WaitForPendingApprovalAsync(id);
        using var approver = app.CreateApiClient(TenantApplication.AdminKey);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await approver.DecideAsync(id, pending.ApprovalId, "approve")).StatusCode);
        await terminal.Task.DefaultTimeout();

        Assert.True(tokens >= 2, $"the token factory was asked {tokens} times");
        var stored = await owner.ReadEventsAsync(id);
        lock (received)
        {
            var bySequence = received.GroupBy(e => e.Sequence).OrderBy(g => g.Key).Select(g => g.First()).ToList();
            Assert.Equal(stored.Select(e => e.EventId), bySequence.Select(e => e.EventId));
        }

        void Add(IEnumerable<WorkflowEvent> events)
        {
            lock (received)
            {
                foreach (var e in events)
                {
                    received.Add(e);
                    if (e.IsTerminal)
                    {
                        terminal.TrySetResult();
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(Felix.Client.FelixProtocol.Json)]
    [InlineData(Felix.Client.FelixProtocol.MessagePack)]
    public async Task DotNetClientWatchReconnectsThroughItsTokenFactoryWithoutLoss(Felix.Client.FelixProtocol protocol)
    {
        await using var app = CreateApp(kestrel: true);
        using var owner = app.CreateApiClient(TenantApplication.KeyA);
        using var approver = app.CreateApiClient(TenantApplication.AdminKey);
        // On a whole second, as the token's exp is: the connection closes at this very moment.
        var shortLived = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 4).UtcDateTime;
        var shortToken = Token(shortLived - DateTime.UtcNow);
        var freshTokens = 0;
        using var client = Felix.Tests.Client.ClientTestSupport.CreateClient(app, protocol, key: null, options => options.AccessTokenProvider = () =>
        {
            // The first connection gets a token that runs out in seconds; the reconnect after it a fresh one.
            if (DateTime.UtcNow < shortLived.AddMilliseconds(-500))
            {
                return Task.FromResult<string?>(shortToken);
            }

            Interlocked.Increment(ref freshTokens);
            return Task.FromResult<string?>(Token(TimeSpan.FromHours(1)));
        });
        var id = await owner.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var events = new List<WorkflowEvent>();

        var watch = Task.Run(async () =>
        {
            await foreach (var evt in client.WatchAsync(id).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(40)).Token))
            {
                lock (events)
                {
                    events.Add(evt);
                }
            }
        });
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref freshTokens) > 0 && DateTime.UtcNow > shortLived.AddSeconds(1)), "the watch to reconnect with a fresh token");
        var pending = await owner.WaitForPendingApprovalAsync(id);
        await approver.DecideAsync(id, pending.ApprovalId, "approve");
        await watch.DefaultTimeout(TimeSpan.FromSeconds(40));

        var stored = await owner.ReadEventsAsync(id);
        Assert.Equal(stored.Select(e => e.EventId), events.Select(e => e.EventId));
        Assert.IsType<WorkflowCompleteEvent>(events[^1]);
    }
}
