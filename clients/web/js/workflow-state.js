// What the dashboard knows about one workflow, built only from its events. Every event has a sequence 1..N within an
// epoch; an event at or below the last sequence seen is a duplicate (a replay overlapping live delivery) and is dropped.

export const deltaTypes = new Set(['agent_output_delta', 'agent_reasoning_delta']);
export const terminalTypes = new Set(['workflow_complete', 'workflow_error']);

export class WorkflowState {
  constructor(id) {
    this.id = id;
    this.epoch = null;
    this.lastSequence = 0;
    /** The approval_requested event the workflow waits on, if any. */
    this.pendingApproval = null;
    this.snapshot = null;
    /** Unknown (null) until the server's snapshot or an event says; never assumed, so a missing id is not "pending". */
    this.status = null;
    this.task = '';
    this.agents = new Map();
    this.events = [];
    this.progress = { percent: 0, etaSeconds: null, milestone: '' };
    this.synthesisStarted = false;
    this.result = null;
    this.error = null;
    this.duplicatesDropped = 0;
    this.deltaCount = 0;
    this.startedAt = null; // ms since the epoch: the first event's timestamp
    this.endedAt = null; // the terminal event's
  }

  /** The run's duration in ms: first event to the terminal one (or to `now` while it runs); null before any event. */
  durationMs(now = Date.now()) {
    if (this.startedAt === null) return null;
    return (this.endedAt ?? now) - this.startedAt;
  }

  get terminal() {
    return this.result !== null || this.error !== null;
  }

  /** Whether `evt` follows the last one seen with no gap. */
  isNext(evt) {
    return evt.sequence === this.lastSequence + 1;
  }

  /** Applies one event; returns false when it was a duplicate and changed nothing. */
  apply(evt) {
    if (evt.sequence <= this.lastSequence) {
      this.duplicatesDropped += 1;
      return false;
    }
    this.lastSequence = evt.sequence;
    this.epoch = evt.epoch || this.epoch;
    this.events.push(evt);
    const at = evt.timestamp ? Date.parse(evt.timestamp) : null;
    if (this.startedAt === null && at !== null) this.startedAt = at;
    switch (evt.type) {
      case 'workflow_status':
        this.status = evt.status;
        if (evt.status === 'cancelled') this.finish(at, 'stopped');
        break;
      case 'agent_spawned':
        this.agents.set(evt.agentId, {
          ...newAgent(evt.agentId, evt.agentType),
          spawnTime: evt.spawnTime, temperature: evt.temperature, tokenBudget: evt.tokenBudget, spawnedAt: at,
        });
        break;
      case 'agent_output_delta': {
        this.deltaCount += 1;
        const agent = this.agent(evt.agentId);
        agent.text += evt.delta;
        agent.firstTokenAt ??= at;
        break;
      }
      case 'agent_reasoning_delta':
        this.deltaCount += 1;
        this.agent(evt.agentId).reasoning += evt.delta;
        break;
      case 'agent_output': {
        const agent = this.agent(evt.agentId);
        agent.text = evt.content;
        agent.confidence = evt.confidence;
        break;
      }
      case 'agent_completed':
        Object.assign(this.agent(evt.agentId), {
          done: true,
          completedAt: at,
          usage: {
            promptTokens: evt.promptTokens, completionTokens: evt.completionTokens,
            llmLatencyMs: evt.llmLatencyMs, durationMs: evt.durationMs,
          },
        });
        break;
      case 'synthesis_started':
        this.synthesisStarted = true;
        break;
      case 'workflow_progress':
        this.progress = { percent: evt.percent, etaSeconds: evt.etaSeconds, milestone: evt.milestone };
        break;
      case 'workflow_complete':
        this.status = evt.status;
        this.result = { synthesis: evt.synthesis, usage: evt.usage };
        this.finish(at, null);
        break;
      case 'approval_requested':
        this.pendingApproval = evt;
        break;
      case 'approval_resolved':
        if (this.pendingApproval?.approvalId === evt.approvalId) this.pendingApproval = null;
        break;
      case 'workflow_error':
        this.status = 'failed';
        this.error = evt.error;
        this.finish(at, 'failed');
        break;
      default:
        break;
    }
    return true;
  }

  /** The run ended: agents still working ended with it, as `outcome` ('failed', 'stopped'; null leaves them). */
  finish(at, outcome) {
    this.endedAt = at ?? this.endedAt;
    if (!outcome) return;
    for (const agent of this.agents.values()) {
      if (!agent.done) agent.outcome = outcome;
    }
  }

  /** An agent seen first through a later event (history trimmed at the start) still gets a card. */
  agent(id) {
    if (!this.agents.has(id)) this.agents.set(id, newAgent(id, id.split('_')[0]));
    return this.agents.get(id);
  }
}

function newAgent(id, type) {
  return {
    id, type, spawnTime: null, temperature: null, tokenBudget: null, text: '', reasoning: '', confidence: null,
    done: false, usage: null, outcome: null, spawnedAt: null, firstTokenAt: null, completedAt: null,
  };
}
