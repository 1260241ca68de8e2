// Runs a JavaScript program (docs/hubs.md's Subscribe example) against a Felix Server that takes JWTs, with tokens
// that live about three seconds, and reports what it printed. Felix.Tests/Hubs/JavaScriptClientTests.cs runs it.
//
//   node token-refresh.mjs <server url> <program.mjs> <signing key> <issuer> <audience> <tenant>
//
// The server must ask for approval before the synthesis, so the run outlives several tokens. This script serves the
// tokens itself (FELIX_TOKEN_URL for the program), starts the workflow, waits until the program has resumed twice
// (each time because the server closed its connection at the token's expiry), approves, waits for the program to
// finish, and prints one JSON summary: every event line the program printed, its resumes, and the tokens handed out.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

const [, , baseUrl, program, signingKey, issuer, audience, tenant] = process.argv;
if (!baseUrl || !program || !signingKey || !issuer || !audience || !tenant) {
  console.error("usage: node token-refresh.mjs <server url> <program.mjs> <signing key> <issuer> <audience> <tenant>");
  process.exit(2);
}
const root = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
const tokenLifetimeSeconds = 3;
const timeoutMs = 75_000; // under the test's 90 s, so a hang ends with this script's summary
const watchdog = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
watchdog.unref();

/** An HS256 JWT for the tenant that may decide approvals, valid for about `lifetime` seconds (exp is whole seconds). */
function mintToken(lifetime = tokenLifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({
    sub: "js-example", tenant, scope: "felix.approve", iss: issuer, aud: audience, nbf: now - 60, exp: now + lifetime,
  })}`;
  return `${body}.${createHmac("sha256", signingKey).update(body).digest("base64url")}`;
}

async function api(method, path, body) {
  const response = await fetch(new URL(path, root), {
    method,
    headers: { authorization: `Bearer ${mintToken()}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

const summary = { workflowId: null, tokensIssued: 0, resumedAfter: [], events: [], exitCode: null, stderr: "" };
let child;
function fail(message) {
  child?.kill();
  console.log(JSON.stringify({ ...summary, failure: message }));
  process.exit(1);
}

const tokens = createServer((request, response) => {
  summary.tokensIssued += 1;
  response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify({ access_token: mintToken(), token_type: "Bearer", expires_in: tokenLifetimeSeconds }));
});
await new Promise((resolve) => tokens.listen(0, "127.0.0.1", resolve));
tokens.unref();

try {
  const created = await api("POST", "api/v1/workflows",
    { task: "Explain quantum computing", max_steps: 2, approval: { before_synthesis: true } });
  summary.workflowId = created.workflow_id;

  const env = { ...process.env, FELIX_TOKEN_URL: `http://127.0.0.1:${tokens.address().port}/token` };
  delete env.FELIX_API_KEY;
  child = spawn(process.execPath, [program, summary.workflowId], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let resumed;
  const twice = new Promise((resolve) => (resumed = resolve));
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    stdout += chunk;
    summary.resumedAfter = [...stdout.matchAll(/\(resumed after (\d+)\)/g)].map((m) => Number(m[1]));
    if (summary.resumedAfter.length >= 2) resumed();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk) => (summary.stderr += chunk));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));

  await Promise.race([twice, exited]);
  const { approvals } = await api("GET", `api/v1/workflows/${summary.workflowId}/approvals`);
  const pending = approvals.find((a) => a.status === "pending");
  if (!pending) fail("no pending approval after two resumes");
  await api("POST", `api/v1/workflows/${summary.workflowId}/approvals/${pending.approval_id}`, { decision: "approve" });

  summary.exitCode = await exited;
  // "<sequence> <type> <agent id>": the program's event lines, in the order it showed them.
  summary.events = stdout.split("\n").map((line) => line.match(/^(\d+) ([a-z]+_[a-z_]+)(?: |$)/))
    .filter(Boolean).map((m) => ({ sequence: Number(m[1]), type: m[2] }));
  console.log(JSON.stringify(summary));
} catch (error) {
  fail(error?.stack ?? String(error));
}
