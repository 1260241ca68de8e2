using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Felix.Client;
using Felix.Contracts.Events;
using Felix.Tests.Hubs;
using Felix.Tests.Infrastructure;
using static Felix.Tests.Client.ClientTestSupport;

namespace Felix.Tests.Client;

/// <summary>
/// A server that says "come back later" (503 or 429 with <c>Retry-After</c>, as a draining node answers new streams): the
/// watch waits as asked, within <see cref="FelixClientOptions.RetryAfterLimit"/>, and then delivers every event once.
/// </summary>
public sealed partial class FelixClientTests
{
    private static readonly TimeSpan AskedWait = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task WatchWhoseFirstConnectionIsRefusedWith503WaitsAsAskedAndDeliversEveryEvent()
    {
        await using var app = CreateServer();
        var refusals = new Refusals(r => r.RequestUri!.AbsolutePath.EndsWith("/negotiate", StringComparison.Ordinal), times: 2);
        var waits = new List<(HttpStatusCode, TimeSpan)>();
        using var client = CreateClient(app, configure: o => o.HttpMessageHandlerFactory = refusals.CreateHandler);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();
        var clock = Stopwatch.StartNew();

        var events = await client.WatchAsync(workflow.WorkflowId, new WatchOptions { OnRetryAfter = (s, w) => waits.Add((s, w)) })
            .ToListAsync().DefaultTimeout();

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.Equal([(HttpStatusCode.ServiceUnavailable, AskedWait), (HttpStatusCode.ServiceUnavailable, AskedWait)], waits);
        Assert.True(clock.Elapsed >= 2 * AskedWait, $"the watch came back after {clock.Elapsed}, before the {2 * AskedWait} it was asked to wait");
    }

    [Fact]
    public async Task WatchGivesUpWhenTheAskedWaitsWouldPassTheRetryAfterLimit()
    {
        await using var app = CreateServer();
        var refusals = new Refusals(r => r.RequestUri!.AbsolutePath.EndsWith("/negotiate", StringComparison.Ordinal), times: int.MaxValue);
        var waits = 0;
        using var client = CreateClient(app, configure: o =>
        {
            o.HttpMessageHandlerFactory = refusals.CreateHandler;
            o.RetryAfterLimit = AskedWait * 1.5;
        });
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 1).DefaultTimeout();

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.WatchAsync(workflow.WorkflowId, new WatchOptions { OnRetryAfter = (_, _) => waits++ }).ToListAsync().AsTask().DefaultTimeout());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(1, waits);
    }

    [Fact]
    public async Task ResumeCheckRefusedWith503IsWaitedOutWithoutUsingTheReconnectDelays()
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        var sockets = new AbortableSockets(Key);
        // More refusals than reconnect delays (3): counted as failed reconnects, they would end the watch.
        var refusals = new Refusals(r => r.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal), times: 4);
        var waits = 0;
        using var client = CreateDroppableClient(app, sockets, refusals);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();

        var events = await WatchThroughADropAsync(
            client, workflow.WorkflowId, new WatchOptions { OnRetryAfter = (_, _) => waits++ }, drop: sockets.AbortLatest, model);

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.Equal(4, waits);
    }

    // A connection that dropped without a close was reconnected by SignalR on the reconnect delays alone: a server that
    // answered with Retry-After was asked again at once, and its refusals used up the delays.
    [Fact]
    public async Task AReconnectAfterADropWithoutACloseWaitsAsTheServerAsks()
    {
        var model = new HeldModel();
        await using var app = CreateServer().WithServices(model.Install);
        var sockets = new AbortableSockets(Key);
        var dropped = false;
        // More refusals than reconnect delays (3): counted as failed attempts, they would end the automatic reconnect.
        var refusals = new Refusals(r => Volatile.Read(ref dropped) && r.RequestUri!.AbsolutePath.EndsWith("/negotiate", StringComparison.Ordinal), times: 4);
        var waits = new List<TimeSpan>();
        using var client = CreateDroppableClient(app, sockets, refusals);
        var workflow = await client.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2).DefaultTimeout();

        var events = await WatchThroughADropAsync(client, workflow.WorkflowId, new WatchOptions { OnRetryAfter = (_, w) => waits.Add(w) }, drop: () =>
        {
            Volatile.Write(ref dropped, true);
            sockets.AbortLatest();
        }, model);

        await AssertWholeRunAsync(client, workflow.WorkflowId, events);
        Assert.Equal([AskedWait, AskedWait, AskedWait, AskedWait], waits);
        var refused = refusals.Times;
        Assert.Equal(4, refused.Count);
        Assert.All(refused.Zip(refused.Skip(1)), pair => Assert.True(
            pair.Second - pair.First >= AskedWait, $"asked again {pair.Second - pair.First} after a refusal that asked for {AskedWait}"));
    }

    private static FelixClient CreateDroppableClient(FelixApplication app, AbortableSockets sockets, Refusals refusals) =>
        CreateClient(app, configure: o =>
        {
            o.WebSocketFactory = sockets.ConnectAsync;
            o.StatefulReconnect = false;
            o.HttpMessageHandlerFactory = refusals.CreateHandler;
        });

    /// <summary>
    /// Watches a workflow whose run <paramref name="model"/> holds: after the first event <paramref name="drop"/> cuts the
    /// connection, then the run goes on. Every event the watch delivered, to its end.
    /// </summary>
    private static async Task<List<WorkflowEvent>> WatchThroughADropAsync(
        FelixClient client, string workflowId, WatchOptions options, Action drop, HeldModel model)
    {
        var events = new List<WorkflowEvent>();
        await using var reader = client.WatchAsync(workflowId, options).GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync().DefaultTimeout());
        events.Add(reader.Current);
        drop();
        model.Release();
        while (await reader.MoveNextAsync().DefaultTimeout())
        {
            events.Add(reader.Current);
        }

        return events;
    }

    /// <summary>
    /// Answers the requests <paramref name="refuse"/> picks with 503 and <c>Retry-After: 1</c>, as a draining server does,
    /// <paramref name="times"/> times in all; every other request goes to the server.
    /// </summary>
    private sealed class Refusals(Func<HttpRequestMessage, bool> refuse, int times)
    {
        private readonly Func<HttpRequestMessage, bool> _refuse = refuse;
        private readonly List<TimeSpan> _times = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _left = times;

        /// <summary>When each refusal was given, since this was made.</summary>
        public IReadOnlyList<TimeSpan> Times
        {
            get { lock (_times) { return [.. _times]; } }
        }

        /// <summary>One per HTTP client: the REST client and each hub connection attempt build their own.</summary>
        public HttpMessageHandler CreateHandler() => new Handler(this);

        private sealed class Handler(Refusals refusals) : DelegatingHandler(new SocketsHttpHandler())
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (!refusals._refuse(request) || Interlocked.Decrement(ref refusals._left) < 0)
                {
                    return base.SendAsync(request, cancellationToken);
                }

                lock (refusals._times)
                {
                    refusals._times.Add(refusals._clock.Elapsed);
                }

                var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request };
                response.Headers.RetryAfter = new RetryConditionHeaderValue(AskedWait);
                return Task.FromResult(response);
            }
        }
    }
}
