// REST calls under /api/v1, relative to the page so the dashboard also works behind a path base.

export class ApiError extends Error {
  constructor(status, problem, statusText = '') {
    super(ApiError.describe(status, problem, statusText));
    this.status = status;
    this.problem = problem;
  }

  static describe(status, problem, statusText = '') {
    if (problem?.errors) {
      return Object.values(problem.errors).flat().join(' ');
    }
    return problem?.detail || problem?.title || `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  }
}

export class FelixApi {
  /** @param {import('./token.js').TokenSource} tokens asked for the credential on every call */
  constructor(tokens) {
    this.tokens = tokens;
  }

  url(path) {
    return new URL(path, document.baseURI).toString();
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = await this.tokens.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      // The browser says no more than "Failed to fetch": the server is down, restarting, or not at this address.
      throw new Error(`Cannot reach Felix Server (${error.message}). Is it running? Try again in a moment.`);
    }
    // A token the server no longer takes (revoked, or its clock ahead of ours) is not offered again.
    if (response.status === 401) this.tokens.reset();
    const text = await response.text();
    // Felix answers JSON (problem details on errors); a proxy in front of it may answer its own HTML page.
    const json = text && /json/.test(response.headers.get('content-type') ?? '') ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, json, response.statusText);
    return json;
  }

  /** POST /api/v1/workflows -> 202 with the new workflow (snake_case). */
  createWorkflow(task, maxSteps) {
    return this.request('POST', 'api/v1/workflows', { task, max_steps: maxSteps });
  }

  /** GET /api/v1/workflows, newest first; only those in `status` when given. */
  listWorkflows(page = 1, pageSize = 15, status = '') {
    const filter = status ? `&status=${encodeURIComponent(status)}` : '';
    return this.request('GET', `api/v1/workflows?page=${page}&page_size=${pageSize}${filter}`);
  }

  /** POST /api/v1/workflows/{id}/approvals/{approvalId}: approve, reject or revise (needs the felix.approve scope). */
  decideApproval(id, approvalId, decision, comment) {
    return this.request('POST', `api/v1/workflows/${encodeURIComponent(id)}/approvals/${encodeURIComponent(approvalId)}`,
      { decision, comment: comment || undefined });
  }

  cancelWorkflow(id) {
    return this.request('DELETE', `api/v1/workflows/${encodeURIComponent(id)}`);
  }
}
