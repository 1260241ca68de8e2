using System.Text.Json.Nodes;
using Felix.Contracts.Events;

namespace Felix.Server.AgUi;

/// <summary>
/// One AG-UI run over a workflow's stream, read from its first event: <c>RUN_STARTED</c>, a <c>STATE_SNAPSHOT</c>, then
/// the mapped events. With a position to resume after, the events up to it are mapped but not sent (the client has them);
/// the run then starts from what the client holds (<see cref="AgUiSeenState"/>), so nothing is sent twice and nothing is
/// missed. A position from another epoch cannot be honoured: the run replays from the start and says so in
/// <c>RUN_STARTED.metadata.felix.replayedFromStart</c>.
/// </summary>
internal sealed class AgUiRun
{
    private readonly string _threadId;
    private readonly string _runId;
    private readonly AgUiPosition? _resumeAfter;
    private readonly AgUiEventMapper _mapper;
    private readonly AgUiSeenState _seen;
    private bool _started;

    public AgUiRun(string threadId, string runId, string workflowId, AgUiPosition? resumeAfter)
    {
        _threadId = threadId;
        _runId = runId;
        _resumeAfter = resumeAfter;
        _mapper = new AgUiEventMapper(threadId, runId, workflowId);
        _seen = new AgUiSeenState(_mapper.InitialState());
    }

    public bool Finished => _mapper.Finished;

    /// <summary>The run's first events when there is nothing to skip; empty when it resumes (it starts at the position).</summary>
    public IEnumerable<AgUiFrame> Begin() => _resumeAfter is null ? Start(replayedFromStart: false) : [];

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
            if (!_started && frame.Position!.Value.IsAfter(_resumeAfter!.Value))
            {
                frames.AddRange(Start(replayedFromStart: false));
            }

            if (_started)
            {
                frames.Add(frame);
            }
            else
            {
                _seen.Apply(frame.Event);
            }
        }

        // Resumed after the run's last event: the client has everything, and gets a run that says so.
        if (!_started && Finished)
        {
            frames.AddRange(Start(replayedFromStart: false));
            frames.Add(new AgUiFrame(_seen.RunEnd!, null));
        }

        return frames;
    }

    /// <summary>Ends the run on an interrupt (an approval request); see <see cref="AgUiEventMapper.Interrupt"/>.</summary>
    public IEnumerable<AgUiFrame> Interrupt(AgUiInterrupt interrupt) =>
        (_started ? [] : Start(replayedFromStart: false)).Concat(_mapper.Interrupt(interrupt).Select(e => new AgUiFrame(e, null))).ToList();

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
