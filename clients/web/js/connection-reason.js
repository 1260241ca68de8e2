// Why the hub connection is down, in a few words a person can act on. SignalR reports a refused negotiate as one message
// with the server's answer inside it ("Failed to complete negotiation with the server: Error: {problem JSON}: Status
// code '503'"): the status and the problem's detail are read out of it, and the message itself is never shown.
import { visible } from './text.js';

/**
 * @param {unknown} error what SignalR threw or passed to onreconnecting/onclose (null: none)
 * @param {'provider'|'endpoint'|'key'|'none'} tokenKind where the credential came from (TokenSource.kind)
 * @param {number|null} retryMs when the next attempt starts, if one is scheduled
 * @returns {{status: number|null, reason: string, detail: string}} reason: short, next to the state; detail: the
 *   server's own sentence for the tooltip. Both plain text, with hidden characters escaped (text.js visible).
 */
export function describeConnectionError(error, tokenKind, retryMs = null) {
  if (error == null) return { status: null, reason: '', detail: '' };
  const message = String(error?.message ?? error);
  const status = statusOf(message);
  const problem = problemOf(message);
  const retry = retryMs == null ? '' : ` Retrying in ${Math.max(1, Math.round(retryMs / 1000))} s.`;
  const said = problem?.detail || problem?.title;
  const detail = (said ? String(said) : status ? `HTTP ${status}` : message) + retry;
  return { status, reason: visible(reasonFor(status, problem, tokenKind, message)), detail: visible(detail.trim()) };
}

function reasonFor(status, problem, tokenKind, message) {
  switch (status) {
    case null:
      return /Failed to fetch|NetworkError|ERR_CONNECTION|ECONNREFUSED/i.test(message)
        ? 'server unreachable, retrying…'
        : 'connection lost, reconnecting…';
    case 401:
      if (tokenKind === 'provider' || tokenKind === 'endpoint') return 'token refused: check the token source';
      return tokenKind === 'key' ? 'key refused: check the API key' : 'enter the API key under ⚙';
    case 403:
      return 'refused: this key may not connect';
    case 429:
      return 'too many connections, retrying…';
    case 503:
      // A draining node names itself; a 503 from elsewhere (a proxy with no node behind it) does not.
      return problem?.title === 'Server shutting down' ? 'server restarting, reconnecting…' : 'server unavailable, retrying…';
    default:
      return `server answered HTTP ${status}, retrying…`;
  }
}

function statusOf(message) {
  const codes = [...message.matchAll(/Status code '(\d{3})'/g)];
  return codes.length ? Number(codes[codes.length - 1][1]) : null;
}

/** The problem details object SignalR quoted, or null (none, or a body that is not JSON, such as a proxy's page). */
function problemOf(message) {
  const start = message.indexOf('{');
  const end = message.lastIndexOf('}');
  if (start < 0 || end < start) return null;
  try {
    const parsed = JSON.parse(message.slice(start, end + 1));
    return parsed && typeof parsed === 'object' ? parsed : null;
  } catch {
    return null;
  }
}
