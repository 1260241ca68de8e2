// The hub connection: one per protocol choice, automatic reconnect that never gives up, and a restart loop for the
// first start and for a connection that closed on its own. Resuming a workflow after a reconnect is the caller's job
// (onReconnected), because only it knows the last sequence it has seen.

const signalR = window.signalR;

/** Client methods of IWorkflowClient; every payload carries its snake_case `type`. */
export const clientMethods = [
  'WorkflowStatus', 'AgentSpawned', 'AgentOutput', 'AgentOutputDelta', 'AgentReasoningDelta', 'AgentCompleted',
  'SynthesisStarted', 'WorkflowProgress', 'WorkflowComplete', 'WorkflowError', 'ApprovalRequested', 'ApprovalResolved',
];

/** Delays before reconnect attempts: quick at first, then every 10 s for as long as it takes. */
const retryDelaysMs = [0, 1000, 2000, 5000];
const steadyRetryMs = 10000;
export const retryPolicy = {
  nextRetryDelayInMilliseconds: ({ previousRetryCount }) => retryDelaysMs[previousRetryCount] ?? steadyRetryMs,
};

export class FelixConnection {
  /**
   * @param {{protocol: 'json'|'messagepack', tokens: import('./token.js').TokenSource, onEvent: Function,
   *          onState: Function, onReconnected: Function, onLost?: Function}} options
   */
  constructor({ protocol, tokens, onEvent, onState, onReconnected, onLost = () => {} }) {
    this.protocol = protocol;
    this.tokens = tokens;
    this.onState = onState;
    this.onReconnected = onReconnected;
    this.stopped = false;
    this.startAttempt = 0;
    /** Why the connection is down (what setState was last given; null while connected or not known). */
    this.lastError = null;

    const builder = new signalR.HubConnectionBuilder()
      .withUrl(new URL('hubs/workflows', document.baseURI).toString(), {
        // Asked at every negotiate and WebSocket connect: a connection the server closed when its JWT expired comes
        // back with a fresh token, not the dead one.
        accessTokenFactory: () => tokens.getToken(),
        // MessagePack is binary and cannot run over Server-Sent Events.
        transport: protocol === 'messagepack'
          ? signalR.HttpTransportType.WebSockets | signalR.HttpTransportType.LongPolling
          : undefined,
      })
      .withAutomaticReconnect(retryPolicy)
      .configureLogging(signalR.LogLevel.Warning);
    if (protocol === 'messagepack') {
      builder.withHubProtocol(new signalR.protocols.msgpack.MessagePackHubProtocol());
    }
    this.hub = builder.build();

    for (const method of clientMethods) {
      this.hub.on(method, (evt) => onEvent(evt));
    }
    // Not an event: the workflow was lost with storage, and nothing more of it will come.
    this.hub.on('WorkflowLost', (notice) => onLost(notice));
    this.hub.onreconnecting((error) => this.setState('reconnecting', error));
    this.hub.onreconnected(() => {
      this.setState('connected');
      this.onReconnected();
    });
    // Closed for good (reconnect gave up or the server refused it): start afresh, then resume like a reconnect.
    this.hub.onclose(async () => {
      this.setState('disconnected');
      if (!this.stopped && await this.startWithRetry()) this.onReconnected();
    });
  }

  /** `error`: why the connection is down (null when it is not); `retryMs`: when the next start is tried. */
  setState(state, error = null, retryMs = null) {
    this.state = state;
    this.lastError = error;
    this.onState(state, error, retryMs);
  }

  /** Starts, retrying with the same delays as reconnects until it works or stop() is called. */
  async startWithRetry() {
    while (!this.stopped) {
      this.setState('connecting');
      try {
        await this.hub.start();
        this.startAttempt = 0;
        this.setState('connected');
        return true;
      } catch (error) {
        if (this.stopped) break;
        // Refused at negotiate: the next attempt asks the source for a new token rather than its cached one.
        if (/\b401\b/.test(error?.message ?? '')) this.tokens.reset();
        const delay = retryPolicy.nextRetryDelayInMilliseconds({ previousRetryCount: this.startAttempt++ }) || 1000;
        this.setState('disconnected', error, delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    return false;
  }

  async stop() {
    this.stopped = true;
    await this.hub.stop();
  }

  get connected() {
    return this.hub.state === signalR.HubConnectionState.Connected;
  }

  /** IWorkflowHub.Subscribe: snapshot + history after `afterSequence` (all when null), then live events. */
  subscribe(workflowId, afterSequence) {
    return this.hub.invoke('Subscribe', workflowId, afterSequence);
  }

  unsubscribe(workflowId) {
    return this.hub.invoke('Unsubscribe', workflowId);
  }
}
