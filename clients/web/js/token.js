// Where the dashboard's credential comes from. Every REST call and every hub (re)connect asks getToken(), so a JWT
// that expires is replaced by a fresh one the next time the server closes the connection, not reused until it fails.
//
// Sources, first one set wins:
//   1. window.felixTokenProvider: a function the hosting page defines (sync or async) that returns a token; it owns
//      caching and refresh, as an OIDC library's getAccessToken() does.
//   2. A token endpoint (the URL under ⚙): GET with the page's cookies, answering an OAuth token response
//      ({"access_token": "...", "expires_in": 300}) or the bare token as text. Same origin only (the page's CSP).
//   3. The key or token typed in the box under ⚙.

/** A token closer than this to its expiry is fetched again rather than handed to a connection about to be closed. */
const refreshBeforeExpiryMs = 5000;

/** Seconds since the epoch of a JWT's exp claim; null for an API key or a token without exp. */
export function jwtExpiry(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const exp = JSON.parse(json).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

export class TokenSource {
  /** @param {{apiKey?: string, tokenEndpoint?: string}} settings what the ⚙ box holds */
  constructor({ apiKey = '', tokenEndpoint = '' } = {}) {
    this.apiKey = apiKey;
    this.tokenEndpoint = tokenEndpoint;
    this.cached = null; // { token, expiresAtMs } from the endpoint
    this.pending = null; // the endpoint request in flight, shared by concurrent callers
  }

  /** Which source answers: 'provider', 'endpoint', 'key' or 'none'. */
  get kind() {
    if (typeof window.felixTokenProvider === 'function') return 'provider';
    if (this.tokenEndpoint) return 'endpoint';
    return this.apiKey ? 'key' : 'none';
  }

  /** Forgets the endpoint's cached token (after new settings, or a 401 with it). */
  reset() {
    this.cached = null;
  }

  /** The credential to send now; '' when there is none (a server without keys). */
  async getToken() {
    switch (this.kind) {
      case 'provider':
        return (await window.felixTokenProvider()) ?? '';
      case 'endpoint':
        return this.fromEndpoint();
      default:
        return this.apiKey;
    }
  }

  async fromEndpoint() {
    if (this.cached && this.cached.expiresAtMs - Date.now() > refreshBeforeExpiryMs) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => { this.pending = null; });
    return this.pending;
  }

  async fetchToken() {
    const response = await fetch(new URL(this.tokenEndpoint, document.baseURI), {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json, text/plain' },
    });
    if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
    const text = (await response.text()).trim();
    let token = text;
    let expiresInSeconds = null;
    if (text.startsWith('{')) {
      const body = JSON.parse(text);
      token = body.access_token ?? body.token ?? '';
      expiresInSeconds = typeof body.expires_in === 'number' ? body.expires_in : null;
    }
    if (!token) throw new Error('the token endpoint answered no access_token');
    // The token's own exp is the truth; expires_in only stands in for tokens that are not JWTs.
    const exp = jwtExpiry(token);
    const expiresAtMs = exp !== null ? exp * 1000 : expiresInSeconds !== null ? Date.now() + expiresInSeconds * 1000 : 0;
    this.cached = { token, expiresAtMs };
    return token;
  }
}
