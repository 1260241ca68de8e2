using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Scaleout;

/// <summary>Ready while Redis answers: without it this node can neither store, share nor relay anything.</summary>
internal sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.Database.PingAsync();
            return HealthCheckResult.Healthy("Redis answers.", new Dictionary<string, object>
            {
                ["node"] = redis.NodeId,
                ["latency_ms"] = latency.TotalMilliseconds,
            });
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis is unreachable.", data: new Dictionary<string, object> { ["node"] = redis.NodeId });
        }
    }
}
