// The trace of one run: its duration, an agent waterfall (spawn, first token, end on one time axis from the run's
// first event) and an inspector that shows any event's JSON as it arrived. Built from WorkflowState only.

import { visible } from './text.js';

const $ = (id) => document.getElementById(id);

/** "7.41 s", "812 ms", "2 min 05 s". */
export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60000);
  return `${minutes} min ${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')} s`;
}

/** Rows of the waterfall, offsets in ms from the run's start; null parts are not known (yet). */
export function agentRows(state, now = Date.now()) {
  const start = state.startedAt;
  const end = state.endedAt ?? now;
  return [...state.agents.values()].map((agent) => {
    const from = agent.spawnedAt ?? start;
    const to = agent.completedAt ?? (agent.outcome ? end : now);
    return {
      agent,
      spawnMs: from - start,
      firstTokenMs: agent.firstTokenAt == null ? null : agent.firstTokenAt - start,
      endMs: to - start,
      running: !agent.done && !agent.outcome,
    };
  });
}

export function renderTrace(state) {
  const section = $('trace');
  const duration = state ? state.durationMs() : null;
  $('run-duration').textContent = formatDuration(duration);
  section.dataset.durationMs = duration == null ? '' : String(Math.round(duration));
  const list = $('waterfall');
  list.replaceChildren();
  if (!state || state.startedAt === null) return;
  const total = Math.max(1, duration);
  for (const row of agentRows(state)) {
    const item = document.createElement('li');
    item.className = `waterfall-row ${row.agent.type}`;
    item.dataset.agentId = row.agent.id;
    item.dataset.spawnMs = String(Math.round(row.spawnMs));
    item.dataset.endMs = String(Math.round(row.endMs));
    if (row.firstTokenMs != null) item.dataset.firstTokenMs = String(Math.round(row.firstTokenMs));
    if (row.agent.outcome) item.classList.add(row.agent.outcome);
    if (row.running) item.classList.add('running');
    item.innerHTML = '<span class="waterfall-name mono small"></span><span class="waterfall-track"><span class="waterfall-bar"></span>'
      + '<span class="waterfall-first-token" title="first token"></span></span><span class="waterfall-facts small muted"></span>';
    item.querySelector('.waterfall-name').textContent = row.agent.id;
    const bar = item.querySelector('.waterfall-bar');
    bar.style.left = `${(100 * row.spawnMs) / total}%`;
    bar.style.width = `${Math.max(0.5, (100 * (row.endMs - row.spawnMs)) / total)}%`;
    const tick = item.querySelector('.waterfall-first-token');
    tick.hidden = row.firstTokenMs == null;
    if (row.firstTokenMs != null) tick.style.left = `${(100 * row.firstTokenMs) / total}%`;
    item.querySelector('.waterfall-facts').textContent = facts(row);
    list.append(item);
  }
}

function facts(row) {
  const parts = [`+${formatDuration(row.spawnMs)}`];
  if (row.firstTokenMs != null) parts.push(`first token +${formatDuration(row.firstTokenMs - row.spawnMs)}`);
  const usage = row.agent.usage;
  if (usage) {
    parts.push(`${formatDuration(usage.durationMs)}`, `LLM ${formatDuration(usage.llmLatencyMs)}`,
      `${usage.promptTokens}+${usage.completionTokens} tokens`);
  } else if (row.agent.outcome) {
    parts.push(row.agent.outcome);
  } else {
    parts.push('working');
  }
  return parts.join(' · ');
}

/** Shows `evt` in the inspector: its JSON, pretty-printed, ready to copy. */
export function inspect(evt) {
  $('inspector').hidden = false;
  $('inspector-title').textContent = `#${evt.sequence} ${evt.type}`;
  $('inspector-json').textContent = visible(JSON.stringify(evt, null, 2));
  $('inspector').dataset.sequence = String(evt.sequence);
}

export function setUpInspector() {
  $('inspector-copy').addEventListener('click', async () => {
    const text = $('inspector-json').textContent;
    try {
      await navigator.clipboard.writeText(text);
      $('inspector-copied').textContent = 'copied';
    } catch {
      // No clipboard permission (an insecure origin, a locked-down browser): select it for Ctrl+C instead.
      getSelection().selectAllChildren($('inspector-json'));
      $('inspector-copied').textContent = 'selected: press Ctrl+C';
    }
  });
  $('inspector-close').addEventListener('click', () => {
    $('inspector').hidden = true;
  });
}
