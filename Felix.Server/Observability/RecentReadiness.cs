using Felix.Server.Workflows;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Felix.Server.Observability;

/// <summary>
/// The readiness that <c>GET /api/v1/system/status</c> reports: the last report of the ready-tagged checks, reused for
/// <see cref="CacheFor"/>, so a client that polls the status as fast as it can costs at most one storage probe (a
/// committed write) and one Redis PING per lifetime, however many calls. Calls that find it expired share one
/// evaluation. <c>/health/ready</c> itself always runs the checks and hands its report here, so the status never says
/// older than the last probe. A drain shows at once: a report taken before it began is not reused.
/// </summary>
internal sealed class RecentReadiness(HealthCheckService health, WorkflowEngine engine, TimeProvider time)
{
    /// <summary>Short: a failure (a full disk, Redis gone) reaches the status within it, as it would a probe a second later.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private Snapshot? _last;
    private Task<HealthReport>? _running;

    public Task<HealthReport> GetAsync(CancellationToken cancellationToken = default)
    {
        Task<HealthReport> running;
        lock (_lock)
        {
            if (_last is { } last && IsFresh(last))
            {
                return Task.FromResult(last.Report);
            }

            _running ??= EvaluateAsync();
            running = _running;
        }

        // One caller giving up does not abandon the evaluation the others wait for.
        return running.WaitAsync(cancellationToken);
    }

    /// <summary>A report just made by <c>/health/ready</c>.</summary>
    public void Store(HealthReport report)
    {
        lock (_lock)
        {
            _last = new Snapshot(report, time.GetUtcNow(), engine.IsStopping);
        }
    }

    private bool IsFresh(Snapshot last) => last.Stopping == engine.IsStopping && time.GetUtcNow() - last.At < CacheFor;

    private async Task<HealthReport> EvaluateAsync()
    {
        try
        {
            // Noted before the checks run: a drain that begins meanwhile makes this report stale at once.
            var stopping = engine.IsStopping;
            var at = time.GetUtcNow();
            var report = await health.CheckHealthAsync(check => check.Tags.Contains(ObservabilityExtensions.ReadyTag), CancellationToken.None);
            lock (_lock)
            {
                if (_last is not { } last || last.At <= at)
                {
                    _last = new Snapshot(report, at, stopping);
                }
            }

            return report;
        }
        finally
        {
            lock (_lock)
            {
                _running = null;
            }
        }
    }

    private sealed record Snapshot(HealthReport Report, DateTimeOffset At, bool Stopping);
}
