using System.Diagnostics.Metrics;

namespace Felix.Server.Observability;

/// <summary>
/// The server's own instruments (meter <c>Felix.Server</c>), exported at <c>/metrics</c>. Names follow OpenTelemetry
/// conventions (durations in seconds); the Prometheus exporter turns dots into underscores and adds unit suffixes
/// (<c>felix_llm_duration_seconds</c>).
/// </summary>
internal sealed class FelixMetrics
{
    public const string MeterName = "Felix.Server";

    /// <summary>Fan-out takes microseconds to milliseconds; past a second something is wrong.</summary>
    private static readonly double[] FanoutBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    /// <summary>Model calls take from a tenth of a second (offline, short) to minutes (long local generations).</summary>
    private static readonly double[] LlmBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

    private readonly Counter<long> _published;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _dropped;
    private readonly Histogram<double> _fanout;
    private readonly Counter<long> _workflows;
    private readonly Counter<long> _llmCalls;
    private readonly Counter<long> _llmTokens;
    private readonly Histogram<double> _llmDuration;
    private readonly Counter<long> _rejected;
    private readonly Histogram<long> _eventsPerWrite;
    private readonly Counter<long> _gapFilled;
    private readonly Counter<long> _approvalsDecided;
    private readonly Histogram<double> _timeToDecision;

    /// <summary>A person answers in seconds to hours; the deadline is at most a week.</summary>
    private static readonly double[] DecisionBuckets = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600];

    public FelixMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _published = Meter.CreateCounter<long>("felix.events.published", "{event}", "Workflow events appended and handed to the transports");
        _delivered = Meter.CreateCounter<long>("felix.events.delivered", "{event}", "Events written to client connections, per connection, by transport (websocket, signalr, agui): live events, histories and replays alike");
        _dropped = Meter.CreateCounter<long>("felix.events.dropped", "{event}", "Events a client did not get because it was disconnected as a slow consumer or a transport failed");
        _fanout = Meter.CreateHistogram("felix.events.fanout.duration", "s", "Time from publish to the event being handed to every transport",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FanoutBuckets });
        _workflows = Meter.CreateCounter<long>("felix.workflows.status_changes", "{workflow}", "Workflows that reached each status");
        _llmCalls = Meter.CreateCounter<long>("felix.llm.calls", "{call}", "Model calls");
        _llmTokens = Meter.CreateCounter<long>("felix.llm.tokens", "{token}", "Model tokens by kind (prompt, completion)");
        _llmDuration = Meter.CreateHistogram("felix.llm.duration", "s", "Model call latency, first request to last token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LlmBuckets });
        _rejected = Meter.CreateCounter<long>("felix.requests.rejected", "{request}", "Requests refused by a rate or connection limit");
        _eventsPerWrite = Meter.CreateHistogram<long>("felix.hub.events_per_write", "{event}",
            "Events per write to a workflow's hub connections on one node: more than one when events queue up faster than they are written");
        _gapFilled = Meter.CreateCounter<long>("felix.events.gap_filled", "{event}",
            "Events another node published that this node read from the log because their publish did not reach it");
        _approvalsDecided = Meter.CreateCounter<long>("felix.approvals.decided", "{approval}", "Approval requests resolved (decided, or withdrawn by their workflow's end), by decision and by who (person, deadline or system)");
        _timeToDecision = Meter.CreateHistogram("felix.approvals.time_to_decision", "s", "Time from an approval request to its decision",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DecisionBuckets });
    }

    public Meter Meter { get; }

    /// <summary>A request resolved: decided, or withdrawn by its workflow's end. <paramref name="decider"/>: person, deadline or system.</summary>
    public void ApprovalDecided(string decision, string decider, TimeSpan waited)
    {
        _approvalsDecided.Add(1, new("decision", decision), new("decided_by", decider));
        _timeToDecision.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("decision", decision));
    }

    public void ObserveStorageLockWaits(Func<long> waits) =>
        Meter.CreateObservableCounter("felix.storage.lock_waits", waits, "{wait}",
            "Writes that found the SQLite file locked by another process and waited (this process's own writers take turns)");

    /// <summary>Approval requests waiting for a decision (read when scraped).</summary>
    public void ObserveApprovalsWaiting(Func<int> waiting) =>
        Meter.CreateObservableGauge("felix.approvals.waiting", waiting, "{approval}", "Approval requests waiting for a decision");

    public void Published() => _published.Add(1);

    public void Delivered(string transport, long count = 1) => _delivered.Add(count, new KeyValuePair<string, object?>("transport", transport));

    public void Dropped(string transport, string reason, long count = 1) =>
        _dropped.Add(count, new("transport", transport), new("reason", reason));

    public void FanoutDuration(TimeSpan elapsed) => _fanout.Record(elapsed.TotalSeconds);

    public void WorkflowStatus(string status) => _workflows.Add(1, new KeyValuePair<string, object?>("status", status));

    public void LlmCall(long promptTokens, long completionTokens, TimeSpan elapsed, bool failed)
    {
        var outcome = new KeyValuePair<string, object?>("outcome", failed ? "error" : "ok");
        _llmCalls.Add(1, outcome);
        _llmTokens.Add(promptTokens, new KeyValuePair<string, object?>("kind", "prompt"));
        _llmTokens.Add(completionTokens, new KeyValuePair<string, object?>("kind", "completion"));
        _llmDuration.Record(elapsed.TotalSeconds, outcome);
    }

    public void GapFilled(long events) => _gapFilled.Add(events);

    public void EventsPerWrite(int events) => _eventsPerWrite.Record(events);

    public void Rejected(string limit) => _rejected.Add(1, new KeyValuePair<string, object?>("limit", limit));

    /// <summary>Gauges read from live state when scraped.</summary>
    public void ObserveState(Func<int> queued, Func<int> running, Func<IEnumerable<Measurement<int>>> connections)
    {
        Meter.CreateObservableGauge("felix.workflows.queued", queued, "{workflow}", "Workflows waiting in the queue");
        Meter.CreateObservableGauge("felix.workflows.running", running, "{workflow}", "Workflows running now");
        Meter.CreateObservableGauge("felix.connections.open", connections, "{connection}", "Open streaming connections by transport");
    }
}
