// A workflow opened as the server begins to drain, in Debian's Chromium through playwright-core:
//   node drain-open.mjs <dashboard-url> <api-key> <server-pid> <restart-file> <screenshot-dir>
// The dashboard's hub WebSocket goes through page.routeWebSocket, which holds the Subscribe of the workflow being
// opened (a slow network) while the server gets SIGTERM: the drain closes the connection with the call in flight.
// The summary has what the workflow panel said then; the script then writes <restart-file>, the test starts the server
// again on the same address, and the summary has what the panel says once the page has come back by itself.
// One JSON line on stdout; exits 1 when a step failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, apiKey, serverPid, restartFile, screenshotArg] = process.argv.slice(2);
if (!url || !apiKey || !serverPid || !restartFile || !screenshotArg) {
  console.error('usage: node drain-open.mjs <dashboard-url> <api-key> <server-pid> <restart-file> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('drain-open.mjs', 170000);

const summary = { ok: false, workflowId: null, draining: null, back: null, pageErrors: [], failure: null };
let browser;
let step = 'launch';

/** What the workflow panel shows: its status badge, the error line (when on show) and the connection state. */
function panel(page) {
  return page.evaluate(() => ({
    status: document.getElementById('workflow').dataset.status,
    error: document.getElementById('wf-error').hidden ? null : document.getElementById('wf-error').textContent,
    connection: document.body.dataset.connection,
  }));
}

try {
  step = 'a workflow that runs';
  const created = await fetch(new URL('api/v1/workflows', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ task: 'Opened while the server drains', max_steps: 2 }),
  });
  if (!created.ok) throw new Error(`POST /api/v1/workflows answered ${created.status}`);
  summary.workflowId = (await created.json()).workflow_id;

  browser = await launchChromium();
  const { page } = browser;
  await browser.context.addInitScript((key) => localStorage.setItem('felix.apiKey', key), apiKey);
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));
  let holdSubscribe = true;
  let held = 0;
  await page.routeWebSocket(/\/hubs\/workflows/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (holdSubscribe && String(message).includes('"target":"Subscribe"')) {
        held += 1;
        return;
      }
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });

  step = 'the dashboard connects';
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.connection === 'connected');

  step = 'the workflow is opened; its Subscribe is held';
  await page.evaluate((id) => { location.hash = `#${encodeURIComponent(id)}`; }, summary.workflowId);
  const heldBy = Date.now() + 30000;
  while (held === 0) {
    if (Date.now() > heldBy) throw new Error('no Subscribe was sent');
    await new Promise((r) => setTimeout(r, 50));
  }

  step = 'SIGTERM: the server drains with the Subscribe in flight';
  process.kill(Number(serverPid), 'SIGTERM');
  // The interrupted call ends with the connection: the panel says so, and says why once the reconnect is refused by
  // the draining server. What it says after that wait is the summary's either way.
  await page.waitForFunction(() => document.body.dataset.connection !== 'connected'
    && !document.getElementById('wf-error').hidden, null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('wf-error').textContent.startsWith('The server is restarting'), null,
    { timeout: 15000 }).catch(() => {});
  summary.draining = await panel(page);
  await page.screenshot({ path: join(screenshotDir, 'draining.png') });

  step = 'the server comes back';
  holdSubscribe = false;
  writeFileSync(restartFile, 'restart');
  await page.waitForFunction(() => document.body.dataset.connection === 'connected', null, { timeout: 120000 });
  await page.waitForFunction(() => !['opening', 'unavailable'].includes(document.getElementById('workflow').dataset.status)
    && document.getElementById('wf-error').hidden, null, { timeout: 30000 }).catch(() => {});
  summary.back = await panel(page);
  await page.screenshot({ path: join(screenshotDir, 'back.png') });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
