using System.Text.Json.Nodes;
using Felix.Contracts.Events;

namespace Felix.Server.AgUi;

/// <summary>
/// One AG-UI run over a workflow's stream, read from its first event: <c>RUN_STARTED</c>, a <c>STATE_SNAPSHOT</c>, then
/// the mapped events. A client that comes back after a drop says what it has in one of two ways:
/// <list type="bullet">
/// <item>a position (<c>Last-Event-ID</c>): the events up to it are mapped but not sent;</item>
/// <item>the messages it holds (a plain <c>HttpAgent</c> sends them with every run): the events whose text the client
/// already holds are not sent; what follows its last held text is sent again when the client may not have it, which
/// repeats no text (a state delta or a message's end applies twice to the same effect).</item>
/// </list>
/// The run then starts from what the client holds (<see cref="AgUiSeenState"/>), so no text is sent twice and nothing is
/// missed. It starts at the latest when the history read at subscription ends (<see cref="CaughtUp"/>): the client
/// cannot hold what came after. A position from another epoch cannot be honoured: the run replays from the start and
/// says so in <c>RUN_STARTED.metadata.felix.replayedFromStart</c>.
/// </summary>
internal sealed class AgUiRun
{
    private readonly string _threadId;
    private readonly string _runId;
    private readonly AgUiPosition? _resumeAfter;
    private readonly IReadOnlyDictionary<string, string>? _held;
    private readonly Dictionary<string, int> _streamed = new(StringComparer.Ordinal);
    private readonly List<AgUiFrame> _undecided = [];
    private readonly AgUiEventMapper _mapper;
    private readonly AgUiSeenState _seen;
    private bool _started;

    public AgUiRun(string threadId, string runId, string workflowId, AgUiPosition? resumeAfter, IReadOnlyDictionary<string, string>? heldMessages = null)
    {
        _threadId = threadId;
        _runId = runId;
        _resumeAfter = resumeAfter;
        // Only this workflow's messages tell where the client is; a thread's earlier turns are other workflows'.
        var held = heldMessages?.Where(m => m.Key.StartsWith(workflowId + ".", StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal);
        _held = resumeAfter is null && held is { Count: > 0 } ? held : null;
        _mapper = new AgUiEventMapper(threadId, runId, workflowId);
        _seen = new AgUiSeenState(_mapper.InitialState());
    }

    public bool Finished => _mapper.Finished;

    /// <summary>The approval request the events so far leave unresolved (<see cref="AgUiEventMapper.PendingApproval"/>).</summary>
    public ApprovalRequestedEvent? PendingApproval => _mapper.PendingApproval;

    /// <summary>The run's first events when there is nothing to skip; empty when it resumes (it starts later).</summary>
    public IEnumerable<AgUiFrame> Begin() => _resumeAfter is null && _held is null ? Start(replayedFromStart: false) : [];

    public IEnumerable<AgUiFrame> Next(WorkflowEvent evt)
    {
        var events = _mapper.Map(evt);
        var frames = new List<AgUiFrame>(events.Count + 2);
        if (!_started && _resumeAfter is { } resume && resume.Epoch != evt.Epoch)
        {
            frames.AddRange(Start(replayedFromStart: true));
        }

        for (var i = 0; i < events.Count; i++)
        {
            var frame = new AgUiFrame(events[i], new AgUiPosition(evt.Epoch, evt.Sequence, i));
            if (!_started && IsNew(frame))
            {
                frames.AddRange(CaughtUp());
            }

            if (_started)
            {
                frames.Add(frame);
            }
            else if (_held is not null && !IsText(frame.Event))
            {
                _undecided.Add(frame);
            }
            else
            {
                _undecided.ForEach(seen => _seen.Apply(seen.Event));
                _undecided.Clear();
                _seen.Apply(frame.Event);
            }
        }

        // The client held the whole run: it gets a run that says so.
        if (!_started && Finished)
        {
            var ended = _undecided.Count > 0;
            frames.AddRange(CaughtUp());
            if (!ended)
            {
                frames.Add(new AgUiFrame(_seen.RunEnd!, null));
            }
        }

        return frames;
    }

    /// <summary>
    /// The history read at subscription is over: the run starts now if it has not (the client holds nothing later), with
    /// the events not known to be held.
    /// </summary>
    public IEnumerable<AgUiFrame> CaughtUp()
    {
        if (_started)
        {
            return [];
        }

        var frames = Start(replayedFromStart: false);
        frames.AddRange(_undecided);
        _undecided.Clear();
        return frames;
    }

    /// <summary>Ends the run on an interrupt (an approval request); see <see cref="AgUiEventMapper.Interrupt"/>.</summary>
    public IEnumerable<AgUiFrame> Interrupt(AgUiInterrupt interrupt) =>
        CaughtUp().Concat(_mapper.Interrupt(interrupt).Select(e => new AgUiFrame(e, null))).ToList();

    /// <summary>Ends the run with <c>RUN_ERROR</c> though the workflow goes on; see <see cref="AgUiEventMapper.Fail"/>.</summary>
    public IEnumerable<AgUiFrame> Fail(string message, string code) =>
        CaughtUp().Concat(_mapper.Fail(message, code).Select(e => new AgUiFrame(e, null))).ToList();

    /// <summary>Whether the client does not have this event, so the run must start before it.</summary>
    private bool IsNew(AgUiFrame frame)
    {
        if (_resumeAfter is { } resume)
        {
            return frame.Position!.Value.IsAfter(resume);
        }

        if (_held is null || !IsText(frame.Event))
        {
            return false;
        }

        var id = frame.Event["messageId"]!.GetValue<string>();
        var delta = frame.Event["delta"]!.GetValue<string>();
        var before = _streamed.GetValueOrDefault(id);
        _streamed[id] = before + delta.Length;
        return !_held.TryGetValue(id, out var held) || held.Length < before + delta.Length
            || !held.AsSpan(before, delta.Length).SequenceEqual(delta);
    }

    private static bool IsText(JsonObject evt) =>
        AgUiEvents.TypeOf(evt) is AgUiEvents.TextMessageContent or AgUiEvents.ReasoningMessageContent;

    private List<AgUiFrame> Start(bool replayedFromStart)
    {
        _started = true;
        var felix = new JsonObject { ["workflowId"] = _mapper.WorkflowId };
        if (replayedFromStart)
        {
            felix["replayedFromStart"] = true;
        }

        var frames = new List<AgUiFrame>
        {
            new(AgUiEvents.Started(_threadId, _runId, new JsonObject { ["felix"] = felix }), null),
            new(AgUiEvents.Snapshot(_seen.State.DeepClone()), null),
        };
        frames.AddRange(_seen.Openers.Select(opener => new AgUiFrame(opener, null)));
        return frames;
    }
}
