using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Felix.Contracts;
using Felix.Contracts.Dtos;
using Felix.Server.Hubs;
using Felix.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Felix.Tests.Security;

public sealed class JwtTests
{
    private static string Token(
        string? tenant, string? scope = null, string? signingKey = null, DateTime? expires = null, string subject = "user-1",
        IDictionary<string, object>? extra = null)
    {
        var claims = new Dictionary<string, object>(extra ?? new Dictionary<string, object>()) { ["sub"] = subject };
        if (tenant is not null)
        {
            claims["tenant"] = tenant;
        }

        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "felix-tests",
            Audience = "felix",
            Claims = claims,
            NotBefore = (expires ?? DateTime.UtcNow.AddHours(1)).AddHours(-2),
            Expires = expires ?? DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey ?? TenantApplication.JwtSigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task ValidTokenActsForItsTenant()
    {
        await using var app = TenantApplication.Create();
        using var jwtClient = app.CreateApiClient(Token("tenant-a"));
        using var keyClient = app.CreateApiClient(TenantApplication.KeyA);
        using var other = app.CreateApiClient(Token("tenant-b"));

        var created = await jwtClient.CreateWorkflowAsync("Created with a token", maxSteps: 1);

        Assert.Equal(HttpStatusCode.OK, (await keyClient.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task OnlyTheConfiguredTenantClaimDecidesTheTenant()
    {
        await using var app = TenantApplication.Create();
        using var keyB = app.CreateApiClient(TenantApplication.KeyB);
        var theirs = await keyB.CreateWorkflowAsync("Tenant B's", maxSteps: 1);
        // Issued for tenant A, with a claim of Felix's own name that points at tenant B.
        using var forged = app.CreateApiClient(Token("tenant-a", extra: new Dictionary<string, object> { ["felix:tenant"] = "tenant-b" }));

        var mine = await forged.CreateWorkflowAsync("Tenant A's", maxSteps: 1);

        Assert.Equal(HttpStatusCode.NotFound, (await forged.GetAsync($"api/v1/workflows/{theirs.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await keyB.GetAsync($"api/v1/workflows/{mine.WorkflowId}").DefaultTimeout()).StatusCode);
        using var keyA = app.CreateApiClient(TenantApplication.KeyA);
        Assert.Equal(HttpStatusCode.OK, (await keyA.GetAsync($"api/v1/workflows/{mine.WorkflowId}").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task ATokenExpiredForLongerThanTheClockSkewIsRefused()
    {
        // A minute past expiry: inside the library's own five minutes of skew, outside Felix's default 30 seconds.
        var expired = Token("tenant-a", expires: DateTime.UtcNow.AddMinutes(-1));
        await using (var app = TenantApplication.Create())
        {
            using var client = app.CreateApiClient(expired);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
        }

        await using var lenient = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Security:Jwt:ClockSkew"] = "00:02:00" });
        using var accepted = lenient.CreateApiClient(expired);
        Assert.Equal(HttpStatusCode.OK, (await accepted.GetAsync("api/v1/workflows").DefaultTimeout()).StatusCode);
    }

    [Fact]
    public async Task EachTokenSubjectHasItsOwnLimitsNotTheAddressItComesFrom()
    {
        await using var app = TenantApplication.Create(new Dictionary<string, string?> { ["Felix:Limits:ConnectionAttemptsPerMinute"] = "1" });
        using var first = app.CreateApiClient(Token("tenant-a", subject: "user-1"));
        using var second = app.CreateApiClient(Token("tenant-a", subject: "user-2"));

        var statuses = new List<HttpStatusCode>();
        foreach (var client in new[] { first, first, second })
        {
            statuses.Add((await client.PostAsync("hubs/workflows/negotiate?negotiateVersion=1", null).DefaultTimeout()).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.OK], statuses);
    }

    [Fact]
    public async Task TokenWorksOnTheHubAndTheRawStream()
    {
        await using var app = TenantApplication.Create();
        var token = Token("tenant-a");
        using var client = app.CreateApiClient(token);
        var created = await client.CreateWorkflowAsync("Streamed with a token", maxSteps: 1);
        await client.WaitForTerminalAsync(created.WorkflowId);

        await using var hub = app.CreateHubConnection("json", key: token);
        await hub.StartAsync().DefaultTimeout();
        var subscription = await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), created.WorkflowId, null).DefaultTimeout();
        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?api_key={token}");
        var frames = await socket.ReadToCloseAsync();

        Assert.Equal(WorkflowStatuses.Completed, subscription.Workflow.Status);
        Assert.Equal("workflow_complete", frames[^1].Type());
    }

    [Theory]
    [InlineData("wrong-signing-key-that-is-32-bytes-long!")]
    [InlineData(null)]
    public async Task BadOrExpiredTokenIsRefused(string? signingKey)
    {
        await using var app = TenantApplication.Create();
        var token = signingKey is null ? Token("tenant-a", expires: DateTime.UtcNow.AddHours(-1)) : Token("tenant-a", signingKey: signingKey);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var response = await client.GetAsync("api/v1/workflows").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ARefusedTokenIsLoggedAsOneLineWithItsReasonAndNoStack()
    {
        var logs = new LogCapture();
        // Microsoft.AspNetCore at Information: its level on a server whose content root has no appsettings.json. The JWT
        // handler logged every refused token there with the validator's whole stack.
        await using var app = TenantApplication.Create(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Information",
            ["Logging:LogLevel:Felix.Server"] = "Debug",
        }).WithServices(services => services.AddSingleton<ILoggerProvider>(logs));
        var token = Token("tenant-a", signingKey: "wrong-signing-key-that-is-32-bytes-long!");
        using var client = app.CreateApiClient(token);

        var response = await client.GetAsync("api/v1/workflows").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain(logs.Entries, e => e.Exception is not null);
        var refused = Assert.Single(logs.Entries, e => e.Category.StartsWith("Felix.Server.Security", StringComparison.Ordinal) && e.EventId == 5003);
        Assert.Equal(LogLevel.Debug, refused.Level);
        Assert.Contains("(SecurityTokenSignatureKeyNotFoundException): IDX10517: Signature validation failed.", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(token.Split('.')[2], StringComparison.Ordinal));
    }

    [Fact]
    public async Task TokenWithoutATenantIsRefused()
    {
        await using var app = TenantApplication.Create();
        using var client = app.CreateApiClient(Token(tenant: null));

        var response = await client.GetAsync("api/v1/workflows").DefaultTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ExpiredTokenOnTheRawStreamIsRefusedWith1008AndNoValidatorDetails()
    {
        // Real sockets: Kestrel enforces the 123-byte limit on close reasons that the in-memory test server does not.
        await using var app = TenantApplication.Create(kestrel: true);
        using var client = app.CreateApiClient(TenantApplication.KeyA);
        var created = await client.CreateWorkflowAsync("Refuse the expired token", maxSteps: 1);

        using var socket = await app.ConnectRawAsync($"api/v1/ws/workflows/{created.WorkflowId}?api_key={Token("tenant-a", expires: DateTime.UtcNow.AddHours(-1))}");
        var frame = await socket.ReceiveTextAsync();

        Assert.Null(frame);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("Authentication failed: invalid or expired credentials", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task AdminScopeInATokenSeesEveryTenant()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        using var admin = app.CreateApiClient(Token("operations", scope: "workflows.read felix.admin"));
        var created = await a.CreateWorkflowAsync("Seen by the admin token", maxSteps: 1);

        var response = await admin.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AScopeClaimGivenAsAJsonArrayGrantsEachOfItsScopes()
    {
        await using var app = TenantApplication.Create();
        using var a = app.CreateApiClient(TenantApplication.KeyA);
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        using var admin = app.CreateApiClient(HandMadeToken(new JsonObject
        {
            ["sub"] = "ops", ["tenant"] = "operations", ["scope"] = new JsonArray("workflows.read", "felix.approve felix.admin"), ["exp"] = expires,
        }));
        using var plain = app.CreateApiClient(HandMadeToken(new JsonObject
        {
            ["sub"] = "user", ["tenant"] = "operations", ["scope"] = new JsonArray("workflows.read", "felix.approve"), ["exp"] = expires,
        }));
        var created = await a.CreateWorkflowAsync("Seen by the admin token", maxSteps: 1);

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync($"api/v1/workflows/{created.WorkflowId}").DefaultTimeout()).StatusCode);
    }

    /// <summary>
    /// A token whose <c>exp</c> is the first second of the year 10000: the token validation accepts it (some issuers
    /// write a far <c>exp</c> for tokens that should not expire), and so must the hubs.
    /// </summary>
    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task ATokenThatExpiresAfterTheYear9999WorksOnBothHubs(string protocol)
    {
        await using var app = TenantApplication.Create();
        var counter = app.Services.GetRequiredService<HubConnectionCounter>();
        var token = HandMadeToken(new JsonObject { ["sub"] = "far", ["tenant"] = "tenant-a", ["exp"] = 253_402_300_800L });
        var adminToken = HandMadeToken(
            new JsonObject { ["sub"] = "far", ["tenant"] = "tenant-a", ["scope"] = "felix.admin", ["exp"] = 253_402_300_800L });
        using var client = app.CreateApiClient(token);
        var created = await client.CreateWorkflowAsync("A token for ever", maxSteps: 1);

        WorkflowSubscription subscription;
        await using (var hub = app.CreateHubConnection(protocol, key: token))
        await using (var system = app.CreateHubConnection(protocol, path: HubPaths.System, key: adminToken))
        {
            await hub.StartAsync().DefaultTimeout();
            await system.StartAsync().DefaultTimeout();
            subscription = await hub.InvokeAsync<WorkflowSubscription>(nameof(IWorkflowHub.Subscribe), created.WorkflowId, null).DefaultTimeout();
            Assert.Equal(HubConnectionState.Connected, system.State);
        }

        Assert.Equal(created.WorkflowId, subscription.Workflow.WorkflowId);
        // Every connection that was counted open is counted closed again.
        await Poll.UntilAsync(() => Task.FromResult(counter.Count == 0), () => $"no open hub connection counted (still {counter.Count})");
    }

    /// <summary>An HS256 token with exactly these claims, made by hand as docs/security.md shows with openssl.</summary>
    private static string HandMadeToken(JsonObject claims)
    {
        claims["iss"] = "felix-tests";
        claims["aud"] = "felix";
        var header = Base64UrlEncoder.Encode("""{"alg":"HS256","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(claims.ToJsonString());
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(TenantApplication.JwtSigningKey));
        var signature = Base64UrlEncoder.Encode(hmac.ComputeHash(Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }
}
