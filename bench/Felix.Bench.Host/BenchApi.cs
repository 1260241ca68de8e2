using System.Diagnostics;
using Felix.Contracts;
using Felix.Bench.Contracts;
using Felix.Contracts.Events;
using Felix.Server.Security;
using Felix.Server.Streaming;
using Felix.Server.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Felix.Bench.Host;

/// <summary>
/// The benchmark mode: creates workflows the engine never runs and publishes <c>agent_output_delta</c> events into them
/// through <see cref="EventPublisher"/> (the same path the engine uses: stamp, log append, hubs, raw sockets) at a paced
/// rate. Only in the bench host, and only for admins.
/// </summary>
internal static class BenchApi
{
    public const string AgentId = "bench-agent";

    public static IEndpointRouteBuilder MapBenchApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/bench").RequireAuthorization(FelixClaims.AdminPolicy).ExcludeFromDescription();
        group.MapPost("/workflows", CreateWorkflowsAsync);
        group.MapPost("/publish", PublishAsync);
        group.MapGet("/stats", Stats);
        group.MapGet("/allocations", SampleAllocationsAsync);
        return app;
    }

    private static async Task<Ok<string[]>> CreateWorkflowsAsync(int count, IWorkflowStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var ids = new string[Math.Clamp(count, 1, 100_000)];
        for (var i = 0; i < ids.Length; i++)
        {
            var record = new WorkflowRecord
            {
                Id = WorkflowIds.New(),
                Task = "bench",
                MaxSteps = 1,
                Owner = FelixClaims.DefaultTenant,
                Status = WorkflowStatuses.Running,
                CreatedAt = time.GetUtcNow(),
            };
            await store.CreateAsync(record, cancellationToken);
            ids[i] = record.Id;
        }

        return TypedResults.Ok(ids);
    }

    /// <summary>
    /// Publishes <paramref name="events"/> deltas of <paramref name="bytes"/> characters into each listed workflow, each
    /// workflow paced at <paramref name="rate"/> events per second (0: as fast as the publisher takes them).
    /// </summary>
    private static async Task<Ok<BenchPublishResult>> PublishAsync(
        [Microsoft.AspNetCore.Mvc.FromBody] string[] workflowIds, int events, double rate, int bytes, EventPublisher publisher, CancellationToken cancellationToken)
    {
        var text = new string('x', Math.Clamp(bytes, 1, 64 * 1024));
        var count = Math.Clamp(events, 1, 10_000_000);
        var started = Stopwatch.GetTimestamp();
        var workers = workflowIds.Select((id, k) => Task.Run(async () =>
        {
            for (var i = 0; i < count && !cancellationToken.IsCancellationRequested; i++)
            {
                if (rate > 0)
                {
                    // Workflows are spread over the interval (workflow k of n starts k/n of an interval late), as
                    // independent runs are; all of them publishing at the same instant would measure the burst.
                    var due = TimeSpan.FromSeconds((i + (double)k / workflowIds.Length) / rate) - Stopwatch.GetElapsedTime(started);
                    if (due > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(due, cancellationToken);
                    }
                }

                await publisher.PublishAsync(new AgentOutputDeltaEvent { WorkflowId = id, AgentId = AgentId, Delta = text, Index = i }, cancellationToken: cancellationToken);
            }
        }, cancellationToken));
        await Task.WhenAll(workers);
        return TypedResults.Ok(new BenchPublishResult((long)count * workflowIds.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds));
    }

    /// <summary>The types allocated most (bytes, sampled) during the next <paramref name="seconds"/> seconds.</summary>
    private static async Task<Ok<Dictionary<string, long>>> SampleAllocationsAsync(double seconds, CancellationToken cancellationToken)
    {
        using var sampler = new AllocationSampler();
        await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(seconds, 0.1, 60)), cancellationToken);
        return TypedResults.Ok(sampler.Top(30).ToDictionary(p => p.Key, p => p.Value));
    }

    /// <summary>Process counters the load generator reads around a run (allocations per delivered event, memory per connection).</summary>
    private static Ok<BenchStats> Stats(bool collect, bool? aggressive, PublishedEventCounter published) =>
        TypedResults.Ok(BenchStats.Capture(collect, published.Published, aggressive ?? false));
}
