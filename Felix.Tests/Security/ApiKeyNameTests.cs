using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Felix.Tests.Approvals;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Security;

/// <summary>
/// Each API key is a principal of its own: two keys of one tenant are told apart in an approval's <c>decided_by</c> and
/// counted apart by the per-principal limits. A key is named <c>api-key:{tenant}:{name}</c>, by its configured
/// <c>Name</c> or, without one, by a short fingerprint of the key; the single <c>FELIX_API_KEY</c> stays <c>api-key:default</c>.
/// </summary>
public sealed class ApiKeyNameTests
{
    private const string NamedKey = "acme-ci-key-0001";
    private const string UnnamedKey = "acme-ops-key-0002";
    private const string SingleKey = "the-original-single-key";

    private static FelixApplication CreateApp(IDictionary<string, string?>? extra = null, bool kestrel = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Felix:Security:ApiKeys:0:Key"] = NamedKey,
            ["Felix:Security:ApiKeys:0:Tenant"] = "acme",
            ["Felix:Security:ApiKeys:0:Name"] = "ci",
            ["Felix:Security:ApiKeys:0:Scopes:0"] = "felix.approve",
            ["Felix:Security:ApiKeys:1:Key"] = UnnamedKey,
            ["Felix:Security:ApiKeys:1:Tenant"] = "acme",
            ["Felix:Security:ApiKeys:1:Scopes:0"] = "felix.approve",
            ["FELIX_API_KEY"] = SingleKey,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new FelixApplication(settings, kestrel);
    }

    /// <summary>What an operator computes to find an unnamed key in the log: <c>printf %s "$key" | sha256sum | cut -c1-8</c>.</summary>
    private static string Fingerprint(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..8];

    [Fact]
    public async Task TwoKeysOfOneTenantAreRecordedApartInDecidedBy()
    {
        await using var app = CreateApp();
        using var ci = app.CreateApiClient(NamedKey);
        using var ops = app.CreateApiClient(UnnamedKey);
        using var single = app.CreateApiClient(SingleKey);
        var first = await ci.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var second = await ci.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);
        var third = await ci.CreateWithApprovalAsync(new { before_synthesis = true }, maxSteps: 1);

        Assert.Equal(HttpStatusCode.OK, (await ci.DecideAsync(first, (await ci.WaitForPendingApprovalAsync(first)).ApprovalId, "approve")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ops.DecideAsync(second, (await ops.WaitForPendingApprovalAsync(second)).ApprovalId, "approve")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await single.DecideAsync(third, (await single.WaitForPendingApprovalAsync(third)).ApprovalId, "approve")).StatusCode);

        Assert.Equal("api-key:acme:ci", Assert.Single((await ci.ListApprovalsAsync(first)).Approvals).DecidedBy);
        Assert.Equal("api-key:acme:" + Fingerprint(UnnamedKey), Assert.Single((await ci.ListApprovalsAsync(second)).Approvals).DecidedBy);
        Assert.Equal("api-key:default", Assert.Single((await ci.ListApprovalsAsync(third)).Approvals).DecidedBy);
    }

    [Fact]
    public async Task TheWorkflowRateLimitCountsTwoKeysOfOneTenantApart()
    {
        await using var app = CreateApp(new Dictionary<string, string?> { ["Felix:Limits:WorkflowsPerMinute"] = "1" });
        using var ci = app.CreateApiClient(NamedKey);
        using var ops = app.CreateApiClient(UnnamedKey);

        var first = await ci.PostAsJsonAsync("api/v1/workflows", new { task = "one", max_steps = 1 }).DefaultTimeout();
        var again = await ci.PostAsJsonAsync("api/v1/workflows", new { task = "two", max_steps = 1 }).DefaultTimeout();
        var otherKey = await ops.PostAsJsonAsync("api/v1/workflows", new { task = "another key of acme", max_steps = 1 }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, otherKey.StatusCode);
    }

    [Fact]
    public async Task OpenConnectionsAreCappedPerKeyNotPerTenant()
    {
        await using var app = CreateApp(new Dictionary<string, string?> { ["Felix:Limits:MaxConnectionsPerPrincipal"] = "1" }, kestrel: true);
        using var client = app.CreateApiClient(NamedKey);
        var id = (await client.CreateWorkflowAsync("Watched by two keys", maxSteps: 1)).WorkflowId;
        var path = $"api/v1/ws/workflows/{id}?types=all&api_key=";

        using var first = await app.ConnectRawAsync(path + NamedKey);
        var refused = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => app.ConnectRawAsync(path + NamedKey + "&x=2"));
        using var otherKey = await app.ConnectRawAsync(path + UnnamedKey);

        Assert.Contains("429", refused.Message, StringComparison.Ordinal);
        Assert.Equal("connected", (await otherKey.ReceiveJsonAsync())!.Type());
    }
}
