using System.Net;
using Felix.Tests.Infrastructure;
using Felix.Tests.Scaleout;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Felix.Tests.Observability;

/// <summary>
/// An outage is expected operations: readiness answers 503 on every probe while Redis (a real redis-server) is down,
/// and the log says so once when the node turns not ready and once when it is ready again, not an Error per probe.
/// </summary>
public sealed class ReadinessLogTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    /// <summary>Readiness turned Unhealthy (Warning).</summary>
    private const int NotReady = 9201;

    /// <summary>Readiness recovered (Information).</summary>
    private const int ReadyAgain = 9202;

    private const int ProbesDuringTheOutage = 5;

    private readonly ScaleoutCluster _cluster = new(redis);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        if (!redis.IsRunning)
        {
            await redis.StartAsync();
        }
    }

    [Fact]
    public async Task ReadinessProbesWhileRedisIsDownLogOneWarningAndTheRecoveryOneInformationLineNotAnErrorPerProbe()
    {
        var logs = new LogCapture();
        // The tests log from Warning up; the recovery line is Information.
        var node = _cluster.StartNode(
            "a",
            settings: new Dictionary<string, string?> { ["Logging:LogLevel:Felix.Server.Observability"] = "Information" },
            services: s => s.AddSingleton<ILoggerProvider>(logs));
        using var client = node.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode);

        await redis.StopAsync();
        await Poll.UntilAsync(async () => (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode == HttpStatusCode.ServiceUnavailable,
            "the node to report not ready");
        for (var i = 0; i < ProbesDuringTheOutage; i++)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode);
        }

        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        var notReady = Assert.Single(logs.Entries, e => e.EventId == NotReady);
        Assert.Equal(LogLevel.Warning, notReady.Level);
        Assert.Null(notReady.Exception);
        Assert.Contains("redis: Redis is unreachable.", notReady.Message, StringComparison.Ordinal);

        await redis.StartAsync();
        await client.WaitUntilReadyAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready").DefaultTimeout()).StatusCode);

        Assert.Single(logs.Entries, e => e.EventId == NotReady);
        var readyAgain = Assert.Single(logs.Entries, e => e.EventId == ReadyAgain);
        Assert.Equal(LogLevel.Information, readyAgain.Level);
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal)
            && e.Level >= LogLevel.Warning);
    }
}
