// Wires the dashboard together: REST for starting and listing workflows, the hub for live events, the URL hash for
// the open workflow (#wf_...), localStorage for the protocol choice and the credential's source (token.js).
import { visible } from './text.js';
import { FelixApi } from './api.js';
import { FelixConnection } from './connection.js';
import { describeConnectionError } from './connection-reason.js';
import { WorkflowState } from './workflow-state.js';
import { WorkflowView } from './view.js';
import { examples } from './examples.js';
import { formatDuration } from './trace.js';
import { TokenSource } from './token.js';

const $ = (id) => document.getElementById(id);
const storage = {
  get: (key, fallback) => localStorage.getItem(`felix.${key}`) ?? fallback,
  set: (key, value) => localStorage.setItem(`felix.${key}`, value),
};

const view = new WorkflowView();
const tokens = new TokenSource({ apiKey: storage.get('apiKey', ''), tokenEndpoint: storage.get('tokenEndpoint', '') });
const api = new FelixApi(tokens);
let connection = null;
/** The open workflow: its state, and live events held back while a Subscribe call is in flight. */
let current = null;
let syncChain = Promise.resolve();

function setConnectionState(state, error, retryMs) {
  document.body.dataset.connection = state;
  const { status, reason, detail } = describeConnectionError(state === 'connected' ? null : error, tokens.kind, retryMs);
  const needsKey = state === 'disconnected' && status === 401;
  let label = state;
  if (state === 'connected') label = `connected · ${connection.protocol === 'messagepack' ? 'MessagePack' : 'JSON'}`;
  if (needsKey) {
    // A refused key is the user's to fix under ⚙; a refused token from a provider or endpoint is its source's.
    label = tokens.kind === 'provider' || tokens.kind === 'endpoint' ? 'token refused' : 'API key needed';
    document.querySelector('.settings').open = true;
  }
  $('connection-state').textContent = label;
  $('connection-state').title = detail;
  $('connection-state').className = `connection ${state}`;
  // Why, next to the state; the server's own sentence (a problem's detail) in the tooltip.
  $('connection-reason').textContent = reason;
  $('connection-reason').title = detail;
  $('connection-reason').hidden = reason === '';
  if (!$('wf-error').hidden && $('wf-error').dataset.kind === 'connection' && state !== 'connected') showConnectionNotice(status, reason);
}

function connect(protocol) {
  document.body.dataset.protocol = protocol;
  connection = new FelixConnection({
    protocol,
    tokens,
    onState: setConnectionState,
    onEvent: onLiveEvent,
    onLost: (notice) => {
      if (current && notice.workflowId === current.state.id) showWorkflowError(notice.message);
      loadRecent();
    },
    // The new connection is not in the workflow's group: subscribe again from the last sequence seen.
    onReconnected: () => {
      document.body.dataset.reconnects = String(Number(document.body.dataset.reconnects ?? 0) + 1);
      if (current) resync();
    },
  });
  return connection.startWithRetry();
}

async function switchProtocol(protocol) {
  storage.set('protocol', protocol);
  const old = connection;
  old.onReconnected = () => {};
  await old.stop();
  await connect(protocol);
  if (current) await resync();
}

function onLiveEvent(evt) {
  if (!current || evt.workflowId !== current.state.id) return;
  if (current.syncing) {
    current.held.push(evt);
    return;
  }
  if (current.state.epoch && evt.epoch && evt.epoch !== current.state.epoch) {
    // The stream was reset under us (server restart with a new epoch): rebuild from the whole history.
    resync({ fromStart: true });
    return;
  }
  if (evt.sequence > current.state.lastSequence + 1) {
    // A gap: fetch what is missing; this event comes back with the history.
    document.body.dataset.gaps = String(Number(document.body.dataset.gaps ?? 0) + 1);
    resync();
    return;
  }
  applyEvent(evt);
}

function applyEvent(evt) {
  if (current.state.apply(evt)) {
    view.onEvent(current.state, evt);
    // Every end: a cancel (by a person, or a rejected approval) ends with a workflow_status, not a terminal event.
    if (evt.type === 'workflow_complete' || evt.type === 'workflow_error'
      || (evt.type === 'workflow_status' && evt.status === 'cancelled')) {
      loadRecent();
    }
  }
}

/**
 * Subscribe(id, lastSequence): history after what we have (all of it for a fresh state), then the live events that
 * arrived meanwhile. Calls are chained so two resyncs never interleave.
 */
function resync({ fromStart = false } = {}) {
  const target = current;
  // Hold live events from now on, so none is taken for a gap while the call is queued.
  target.syncing = true;
  syncChain = syncChain.then(async () => {
    target.syncing = true;
    try {
      if (current !== target || !connection.connected) return;
      const after = fromStart || target.state.lastSequence === 0 ? null : target.state.lastSequence;
      const subscription = await connection.subscribe(target.state.id, after);
      if (current !== target) return;
      const epochChanged = target.state.epoch && subscription.epoch !== target.state.epoch;
      if (fromStart || subscription.replayedFromStart || epochChanged) {
        target.state = new WorkflowState(target.state.id);
        view.reset(target.state);
      }
      const state = target.state;
      state.epoch = subscription.epoch;
      state.snapshot = subscription.workflow;
      state.task = subscription.workflow.task;
      if (state.lastSequence === 0) state.status = subscription.workflow.status;
      view.renderHeader(state);
      // What the cut call left on show is over: the workflow is here.
      if ($('wf-error').dataset.kind === 'connection') $('wf-error').hidden = true;
      for (const evt of subscription.events) applyEvent(evt);
    } catch (error) {
      if (current === target && !connection.connected) {
        // The call ended with the connection (a drain, a restart, a network drop), not because of the workflow: the
        // reconnect subscribes again, so this says what is happening and leaves the workflow's status unknown, not
        // unavailable. SignalR's own message ("Invocation canceled due to the underlying connection…") is never shown.
        const { status, reason } = describeConnectionError(connection.lastError, tokens.kind);
        $('wf-error').dataset.kind = 'connection';
        showConnectionNotice(status, reason);
        return;
      }
      showWorkflowError(error);
      // Still nothing known of it: say so rather than leave the header "opening" (and never offer a Cancel).
      if (current === target && target.state.status === null) {
        target.state.status = /not found\.?$/.test(String(error?.message ?? error)) ? 'not found' : 'unavailable';
        view.renderHeader(target.state);
      }
    } finally {
      target.syncing = false;
      const held = target.held.splice(0);
      for (const evt of held) {
        if (current === target && evt.sequence > target.state.lastSequence) onLiveEvent(evt);
      }
    }
  });
  return syncChain;
}

/**
 * The open workflow's call was cut with the connection: one sentence on its panel, kept in step with the connection's
 * reason (a draining server answers its reconnects 503) until a resync brings the workflow back.
 */
function showConnectionNotice(status, reason) {
  const restarting = status === 503 && reason.startsWith('server restarting');
  $('wf-error').hidden = false;
  $('wf-error').textContent = restarting
    ? 'The server is restarting; reconnecting…'
    : 'The connection to the server was lost; reconnecting…';
}

function showWorkflowError(error) {
  $('wf-error').dataset.kind = '';
  $('wf-error').hidden = false;
  $('wf-error').textContent = String(error?.message ?? error).replace(/^.*HubException: /, '');
}

/** Opens the workflow named in the URL hash (#wf_...), replaying its history from the start. */
async function openFromHash() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (current?.state.id === id) return;
  if (current && connection.connected) {
    connection.unsubscribe(current.state.id).catch(() => {});
  }
  current = id ? { state: new WorkflowState(id), syncing: false, held: [] } : null;
  view.reset(current?.state ?? null);
  markCurrentInRecent();
  if (current) await resync();
}

// The search narrows the newest page of the chosen status by task or id; the status filter asks the server.
const recentPageSize = 50;
const recentShown = 15;

// Answers can arrive out of order (typing, then choosing a status): only the answer to the latest request is shown,
// so the list always matches what the user chose last.
let recentRequest = 0;

async function loadRecent() {
  const request = ++recentRequest;
  const status = $('recent-status').value;
  const words = $('recent-search').value.trim().toLowerCase();
  try {
    const page = await api.listWorkflows(1, recentPageSize, status);
    if (request !== recentRequest) return;
    const matching = page.workflows
      .filter((wf) => !words || `${wf.task} ${wf.workflow_id}`.toLowerCase().includes(words))
      .slice(0, recentShown);
    const list = $('recent-list');
    list.replaceChildren();
    for (const wf of matching) {
      const item = document.createElement('li');
      item.innerHTML = '<a><span class="badge"></span><span class="recent-task"></span><span class="recent-meta mono muted small"></span></a>';
      const link = item.querySelector('a');
      link.href = `#${encodeURIComponent(wf.workflow_id)}`;
      link.dataset.workflowId = wf.workflow_id;
      link.dataset.status = wf.status;
      item.querySelector('.badge').textContent = wf.status;
      item.querySelector('.badge').classList.add(wf.status);
      item.querySelector('.recent-task').textContent = visible(wf.task);
      const created = new Date(wf.created_at);
      const took = wf.completed_at ? ` · ${formatDuration(Date.parse(wf.completed_at) - created)}` : '';
      item.querySelector('.recent-meta').textContent = `${wf.workflow_id} · ${created.toLocaleString()}${took}`;
      list.append(item);
    }
    $('recent-empty').hidden = matching.length > 0;
    $('recent-empty').textContent = words || status ? 'No workflow matches.' : 'No workflows yet.';
    markCurrentInRecent();
  } catch (error) {
    if (request !== recentRequest) return;
    // What another key listed is not this key's to see.
    if (error.status === 401 || error.status === 403) $('recent-list').replaceChildren();
    $('recent-empty').hidden = false;
    $('recent-empty').textContent = `Could not load workflows: ${error.message}`;
  }
}

function markCurrentInRecent() {
  for (const link of $('recent-list').querySelectorAll('a')) {
    link.classList.toggle('current', link.dataset.workflowId === current?.state.id);
  }
}

async function startWorkflow(event) {
  event.preventDefault();
  await start($('start'), $('task').value.trim(), Number($('max-steps').value));
}

/** Re-run: a new workflow with the open one's task and max steps, as the server recorded them. */
async function rerun() {
  const snapshot = current?.state.snapshot;
  if (!snapshot) return;
  $('task').value = snapshot.task;
  $('max-steps').value = String(snapshot.maxSteps);
  await start($('rerun'), snapshot.task, snapshot.maxSteps);
}

async function start(button, task, maxSteps) {
  $('start-error').hidden = true;
  button.disabled = true;
  try {
    const created = await api.createWorkflow(task, maxSteps);
    location.hash = encodeURIComponent(created.workflow_id);
    await loadRecent();
  } catch (error) {
    $('start-error').hidden = false;
    $('start-error').textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

/** Decides the request the open workflow waits on; the approval_resolved event then hides the card. */
async function decide(button) {
  const approvalId = $('approval').dataset.approvalId;
  if (!current || !approvalId) return;
  $('wf-error').hidden = true;
  for (const b of document.querySelectorAll('#approval button')) b.disabled = true;
  try {
    await api.decideApproval(current.state.id, approvalId, button.dataset.decision, $('approval-comment').value.trim());
    $('approval-comment').value = '';
  } catch (error) {
    showWorkflowError(error);
  } finally {
    for (const b of document.querySelectorAll('#approval button')) b.disabled = false;
  }
}

function setUpControls(protocol) {
  for (const example of examples) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'chip';
    chip.textContent = example.title;
    chip.title = example.task;
    chip.addEventListener('click', () => {
      $('task').value = example.task;
      $('max-steps').value = String(example.maxSteps);
    });
    $('examples').append(chip);
  }
  $('start-form').addEventListener('submit', startWorkflow);
  $('refresh-recent').addEventListener('click', loadRecent);
  $('recent-status').addEventListener('change', loadRecent);
  $('recent-search').addEventListener('input', loadRecent);
  $('rerun').addEventListener('click', rerun);
  for (const button of document.querySelectorAll('#approval button[data-decision]')) {
    button.addEventListener('click', () => decide(button));
  }
  $('cancel').addEventListener('click', async () => {
    try {
      await api.cancelWorkflow(current.state.id);
    } catch (error) {
      showWorkflowError(error);
    }
  });
  for (const radio of document.querySelectorAll('input[name=protocol]')) {
    radio.checked = radio.value === protocol;
    radio.addEventListener('change', () => switchProtocol(radio.value));
  }
  $('api-key').value = tokens.apiKey;
  $('token-endpoint').value = tokens.tokenEndpoint;
  $('save-key').addEventListener('click', async () => {
    tokens.apiKey = $('api-key').value.trim();
    tokens.tokenEndpoint = $('token-endpoint').value.trim();
    tokens.reset();
    storage.set('apiKey', tokens.apiKey);
    storage.set('tokenEndpoint', tokens.tokenEndpoint);
    // A start's error was about the key this one replaces.
    $('start-error').hidden = true;
    // Listed at once: the hub's connection with a wrong key keeps retrying and never resolves.
    const listed = loadRecent();
    await switchProtocol(connection.protocol);
    await listed;
  });
  window.addEventListener('hashchange', openFromHash);
}

const protocol = storage.get('protocol', 'json') === 'messagepack' ? 'messagepack' : 'json';
setUpControls(protocol);
loadRecent();
await connect(protocol);
// A workflow opened while the first start was still retrying is not subscribed yet.
if (current) await resync();
else await openFromHash();
