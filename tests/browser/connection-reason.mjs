// Why the dashboard's hub connection is down, shown next to its state, in Debian's Chromium through playwright-core:
//   node connection-reason.mjs <dashboard-url> <api-key> <server-pid> <screenshot-dir>
// 1. The negotiate answered by a stand-in (page.route) with a 503 whose problem carries hostile text: it is shown
//    escaped, as text. 2. A wrong key (the server's own 401). 3. The right key, a workflow, then SIGTERM to the server
//    (its pid): the draining server refuses the reconnect with 503. For each step the summary has the state, the reason
//    next to it and the tooltip; one JSON line on stdout; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, apiKey, serverPid, screenshotArg] = process.argv.slice(2);
if (!url || !apiKey || !serverPid || !screenshotArg) {
  console.error('usage: node connection-reason.mjs <dashboard-url> <api-key> <server-pid> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('connection-reason.mjs');

const hostileDetail = 'Back \u202esoon\u202c <img src=x onerror="window.pwned=1">';
const summary = { ok: false, hostile: null, wrongKey: null, draining: null, pwned: null, pageErrors: [], failure: null };
let browser;
let step = 'launch';

/** The state, the reason next to it and the tooltip, once the reason is `reason`. */
async function shown(page, reason) {
  await page.waitForFunction((r) => document.getElementById('connection-reason').textContent === r, reason);
  return page.evaluate(() => {
    const state = document.getElementById('connection-state');
    const why = document.getElementById('connection-reason');
    return {
      state: state.textContent, reason: why.textContent, reasonVisible: !why.hidden && why.offsetWidth > 0 && why.scrollWidth <= why.clientWidth,
      stateTooltip: state.title, reasonTooltip: why.title, elementsInReason: why.children.length,
    };
  });
}

try {
  browser = await launchChromium();
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));
  // The page starts with a wrong key saved, as a user who mistyped it.
  await browser.context.addInitScript((key) => localStorage.setItem('felix.apiKey', key), `${apiKey}-wrong`);

  step = 'a 503 with hostile text in its problem';
  await page.route('**/hubs/workflows/negotiate*', (route) => route.fulfill({
    status: 503, contentType: 'application/problem+json',
    body: JSON.stringify({ title: 'Server shutting down', status: 503, detail: hostileDetail }),
  }));
  await page.goto(url);
  summary.hostile = await shown(page, 'server restarting, reconnecting…');
  await page.screenshot({ path: join(screenshotDir, 'hostile-503.png') });

  step = 'a wrong key';
  await page.unroute('**/hubs/workflows/negotiate*');
  summary.wrongKey = await shown(page, 'key refused: check the API key');
  await page.screenshot({ path: join(screenshotDir, 'wrong-key.png') });

  step = 'the right key';
  await page.evaluate(() => { document.querySelector('.settings').open = true; });
  await page.fill('#api-key', apiKey);
  await page.click('#save-key');
  await page.waitForFunction(() => document.body.dataset.connection === 'connected'
    && document.getElementById('connection-reason').hidden);

  step = 'a workflow that runs while the server drains';
  await page.evaluate(() => { document.querySelector('.settings').open = false; });
  await page.fill('#task', 'Running through a drain');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelectorAll('#recent-list li').length > 0);

  step = 'SIGTERM: the server drains';
  process.kill(Number(serverPid), 'SIGTERM');
  summary.draining = await shown(page, 'server restarting, reconnecting…');
  await page.screenshot({ path: join(screenshotDir, 'draining.png') });
  summary.pwned = await page.evaluate(() => window.pwned ?? null);
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
