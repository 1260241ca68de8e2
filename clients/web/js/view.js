// DOM rendering of a WorkflowState. Rendering is incremental per event so that streamed text stays cheap.
import { drawHelix, placeAgent, placeSynthesis, clearAgents } from './helix.js';
import { deltaTypes } from './workflow-state.js';
import { inspect, renderTrace, setUpInspector } from './trace.js';
import { visible } from './text.js';

const $ = (id) => document.getElementById(id);
const timelineLimit = 400;

export class WorkflowView {
  constructor() {
    this.svg = $('helix');
    drawHelix(this.svg);
    this.showDeltas = $('show-deltas').checked;
    $('show-deltas').addEventListener('change', (e) => {
      this.showDeltas = e.target.checked;
      if (this.state) this.renderTimeline(this.state);
    });
    const inspectItem = (e) => {
      const item = e.target.closest('li[data-sequence]');
      const sequence = Number(item?.dataset.sequence);
      const evt = this.state?.events.find((candidate) => candidate.sequence === sequence);
      if (evt) inspect(evt);
    };
    $('timeline').addEventListener('click', inspectItem);
    $('timeline').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') inspectItem(e);
    });
    setUpInspector();
    // While a run goes on, its duration and the bars of working agents grow without an event.
    setInterval(() => {
      if (this.state && !this.state.terminal && this.state.startedAt !== null) renderTrace(this.state);
    }, 1000);
  }

  /** Clears everything and draws `state` from scratch (used when opening a workflow or after a replay from start). */
  reset(state) {
    this.state = state;
    clearAgents(this.svg);
    $('agent-cards').replaceChildren();
    $('agents-empty').hidden = false;
    $('timeline').replaceChildren();
    this.renderSynthesisState(state);
    $('confidence-value').textContent = '–';
    $('confidence-bar').style.width = '0';
    $('synthesis-content').textContent = '';
    $('synthesis-meta').textContent = '';
    $('wf-error').hidden = true;
    $('wf-error').dataset.kind = '';
    $('inspector').hidden = true;
    renderTrace(state);
    if (!state) {
      this.renderHeader(null);
      return;
    }
    for (const agent of state.agents.values()) this.renderAgent(agent);
    this.renderTimeline(state);
    this.renderAll(state);
  }

  renderAll(state) {
    this.renderHeader(state);
    this.renderProgress(state);
    if (state.synthesisStarted || state.result) placeSynthesis(this.svg, Boolean(state.result));
    this.renderSynthesisState(state);
    if (state.result) this.renderSynthesis(state.result);
    if (state.error) this.renderError(state.error);
    this.renderCounters(state);
    renderTrace(state);
  }

  /** Called after state.apply(evt) accepted the event. */
  onEvent(state, evt) {
    switch (evt.type) {
      case 'agent_spawned':
      case 'agent_output':
      case 'agent_completed':
      case 'agent_output_delta':
      case 'agent_reasoning_delta':
        this.renderAgent(state.agents.get(evt.agentId), evt.type);
        break;
      case 'synthesis_started':
        placeSynthesis(this.svg, false);
        this.renderSynthesisState(state);
        break;
      case 'workflow_complete':
        placeSynthesis(this.svg, true);
        this.renderSynthesis(state.result);
        break;
      case 'workflow_error':
        this.renderError(state.error);
        this.renderSynthesisState(state);
        for (const agent of state.agents.values()) this.renderAgent(agent);
        break;
      case 'workflow_status':
        if (state.status === 'cancelled') {
          for (const agent of state.agents.values()) this.renderAgent(agent);
          this.renderSynthesisState(state);
        }
        break;
      default:
        break;
    }
    // The waterfall changes with every event but the text deltas, and with an agent's first token.
    const agent = state.agents.get(evt.agentId);
    if (!deltaTypes.has(evt.type) || (evt.type === 'agent_output_delta' && agent?.text === evt.delta)) renderTrace(state);
    this.renderHeader(state);
    this.renderProgress(state);
    this.appendTimeline(evt);
    this.renderCounters(state);
  }

  renderHeader(state) {
    const section = $('workflow');
    const status = state ? state.status ?? 'opening' : 'none';
    section.dataset.status = status;
    section.dataset.workflowId = state?.id ?? '';
    $('wf-status').textContent = status;
    $('wf-status').className = `badge ${state?.status?.replace(' ', '-') ?? ''}`;
    $('wf-id').textContent = state ? state.id : 'Start a workflow or open one from the list.';
    $('wf-task').textContent = visible(state?.task);
    $('cancel').hidden = !state || !['pending', 'running'].includes(state.status);
    $('rerun').hidden = !state?.snapshot;
    this.renderApproval(state);
  }

  /** The step waiting for a decision, with its buttons; hidden when nothing waits. */
  renderApproval(state) {
    const pending = state && !state.terminal ? state.pendingApproval : null;
    const card = $('approval');
    card.hidden = !pending;
    card.dataset.approvalId = pending?.approvalId ?? '';
    if (!pending) return;
    const what = pending.kind === 'synthesis' ? 'The synthesis' : `${pending.agentId}'s output`;
    $('approval-title').textContent = `${what} waits for approval`;
    $('approval-content').textContent = visible(pending.content);
    $('approval-meta').textContent =
      `confidence ${Math.round(pending.confidence * 100)}% · decided by default at ${new Date(pending.expiresAt).toLocaleString()}`;
  }

  renderProgress(state) {
    const percent = state.result ? 100 : Math.max(0, Math.min(100, state.progress.percent ?? 0));
    const bar = $('progress-bar');
    bar.style.width = `${percent}%`;
    bar.setAttribute('aria-valuenow', String(Math.round(percent)));
    $('progress-percent').textContent = `${Math.round(percent)}%`;
    $('progress-milestone').textContent = (state.progress.milestone ?? '').replaceAll('_', ' ');
    const eta = state.progress.etaSeconds;
    $('progress-eta').textContent = !state.terminal && eta > 0 ? `· about ${Math.ceil(eta)} s left` : '';
  }

  renderCounters(state) {
    const section = $('workflow');
    section.dataset.lastSequence = String(state.lastSequence);
    section.dataset.eventCount = String(state.events.length);
    section.dataset.duplicatesDropped = String(state.duplicatesDropped);
    section.dataset.deltaCount = String(state.deltaCount);
    section.dataset.agentCount = String(state.agents.size);
    const hidden = this.showDeltas ? '' : ` · ${state.deltaCount} text deltas hidden`;
    $('timeline-summary').textContent = `${state.events.length} events, last #${state.lastSequence}${hidden}`;
  }

  renderAgent(agent, cause) {
    if (!agent) return;
    placeAgent(this.svg, agent);
    $('agents-empty').hidden = true;
    let card = $('agent-cards').querySelector(`[data-agent-id="${CSS.escape(agent.id)}"]`);
    if (!card) {
      card = document.createElement('article');
      card.className = `agent-card ${agent.type}`;
      card.dataset.agentId = agent.id;
      card.innerHTML = `
        <header><span class="dot"></span><strong class="agent-name"></strong>
          <span class="agent-meta muted small"></span><span class="agent-confidence"></span></header>
        <details class="reasoning"><summary class="small muted">reasoning</summary><p class="reasoning-text small"></p></details>
        <p class="agent-text"></p>
        <p class="agent-usage muted small"></p>`;
      card.querySelector('.agent-name').textContent = agent.id;
      $('agent-cards').append(card);
    }
    card.classList.toggle('done', agent.done);
    card.classList.toggle('streaming', !agent.done && !agent.outcome && agent.text.length > 0);
    card.classList.toggle('failed', agent.outcome === 'failed');
    card.classList.toggle('stopped', agent.outcome === 'stopped');
    card.dataset.outcome = agent.outcome ?? (agent.done ? 'done' : 'working');
    const meta = [agent.type];
    if (agent.spawnTime != null) meta.push(`t=${agent.spawnTime.toFixed(2)}`);
    if (agent.temperature != null) meta.push(`temp ${agent.temperature}`);
    if (agent.tokenBudget != null) meta.push(`budget ${agent.tokenBudget} tokens`);
    if (agent.outcome) meta.push(agent.outcome === 'failed' ? 'failed: the run failed before it finished' : 'stopped: the run was cancelled');
    card.querySelector('.agent-meta').textContent = meta.join(' · ');
    card.querySelector('.agent-confidence').textContent =
      agent.confidence == null ? '' : `${Math.round(agent.confidence * 100)}%`;
    if (cause !== 'agent_reasoning_delta') card.querySelector('.agent-text').textContent = visible(agent.text);
    if (cause !== 'agent_output_delta') card.querySelector('.reasoning-text').textContent = visible(agent.reasoning);
    if (agent.usage) {
      const u = agent.usage;
      card.querySelector('.agent-usage').textContent =
        `${u.promptTokens} prompt + ${u.completionTokens} completion tokens · ${Math.round(u.durationMs)} ms`;
    }
  }

  /** waiting -> synthesizing -> done (or none when the workflow ended without one). */
  renderSynthesisState(state) {
    let phase = 'waiting';
    let text = 'Appears when the agents have finished.';
    if (state?.result?.synthesis) {
      phase = 'done';
      text = '';
    } else if (state?.terminal || ['failed', 'cancelled'].includes(state?.status)) {
      phase = 'none';
      text = 'No synthesis: the workflow did not complete.';
    } else if (state?.synthesisStarted) {
      phase = 'synthesizing';
      text = 'Combining the agent outputs…';
    }
    $('synthesis').dataset.state = phase;
    $('synthesis-waiting').textContent = text;
    $('synthesis-waiting').hidden = !text;
  }

  renderSynthesis(result) {
    const synthesis = result?.synthesis;
    if (!synthesis) return;
    this.renderSynthesisState(this.state);
    const confidence = Math.round((synthesis.confidence ?? 0) * 100);
    $('confidence-value').textContent = `${confidence}%`;
    $('confidence-bar').style.width = `${confidence}%`;
    $('synthesis-content').textContent = visible(synthesis.content);
    const parts = [`${synthesis.agentsSynthesized} agents`, `${synthesis.tokenCount} tokens`];
    const usage = result.usage;
    if (usage?.totalTokens != null) parts.push(`${usage.totalTokens} tokens in all`);
    $('synthesis-meta').textContent = parts.join(' · ');
  }

  renderError(error) {
    $('wf-error').hidden = false;
    $('wf-error').dataset.kind = '';
    $('wf-error').textContent = `Workflow failed: ${visible(error)}`;
  }

  renderTimeline(state) {
    $('timeline').replaceChildren();
    const shown = state.events.filter((evt) => this.showDeltas || !deltaTypes.has(evt.type));
    for (const evt of shown.slice(-timelineLimit)) this.appendTimeline(evt, false);
    this.scrollTimeline();
  }

  appendTimeline(evt, scroll = true) {
    if (!this.showDeltas && deltaTypes.has(evt.type)) return;
    const list = $('timeline');
    const item = document.createElement('li');
    item.className = `event ${evt.type}`;
    item.tabIndex = 0;
    item.title = 'Show the event';
    item.dataset.sequence = String(evt.sequence);
    const time = evt.timestamp
      ? new Date(evt.timestamp).toLocaleTimeString([], {
        hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3,
      })
      : '';
    item.innerHTML = '<span class="seq mono"></span><span class="time mono muted"></span><span class="type"></span><span class="summary"></span>';
    item.querySelector('.seq').textContent = `#${evt.sequence}`;
    item.querySelector('.time').textContent = time;
    item.querySelector('.type').textContent = evt.type.replaceAll('_', ' ');
    item.querySelector('.summary').textContent = visible(summarize(evt));
    list.append(item);
    while (list.childElementCount > timelineLimit) list.firstElementChild.remove();
    if (scroll) this.scrollTimeline();
  }

  scrollTimeline() {
    const list = $('timeline');
    list.scrollTop = list.scrollHeight;
  }
}

export function summarize(evt) {
  switch (evt.type) {
    case 'workflow_status': return evt.status;
    case 'agent_spawned': return `${evt.agentId} at t=${evt.spawnTime}, temp ${evt.temperature}`;
    case 'agent_output_delta':
    case 'agent_reasoning_delta': return `${evt.agentId}: ${JSON.stringify(evt.delta)}`;
    case 'agent_output': return `${evt.agentId}: confidence ${Math.round(evt.confidence * 100)}%`;
    case 'agent_completed': return `${evt.agentId}: ${evt.completionTokens} tokens, ${Math.round(evt.durationMs)} ms`;
    case 'synthesis_started': return `${evt.agentCount} agents`;
    case 'workflow_progress': return `${Math.round(evt.percent)}% ${evt.milestone ?? ''}`;
    case 'workflow_complete': return `${evt.status}, confidence ${Math.round((evt.synthesis?.confidence ?? 0) * 100)}%`;
    case 'workflow_error': return evt.error;
    case 'approval_requested': return `${evt.approvalId}: ${evt.agentId ?? 'synthesis'} waits for approval`;
    case 'approval_resolved': return `${evt.approvalId}: ${evt.decision} by ${evt.decidedBy}`;
    default: return '';
  }
}
