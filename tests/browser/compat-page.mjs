// Drives clients/web/compat.html, opened from disk, in Debian's Chromium through playwright-core:
//   node compat-page.mjs <server-url> <api-key> <screenshot-dir> <cancel|unavailable>
// Starts a workflow from the page, then watches the page: how many sockets it opens, what its status bar says, whether
// it can start again.
//   cancel:      the server holds the run; once the page shows it running, it is cancelled over REST (DELETE, as another
//                client would).
//   unavailable: the server accepts the page's sockets and closes each before any event (its storage cannot be read).
// Prints one JSON summary line; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium, startWatchdog } from './launch.mjs';

const [serverArg, apiKey, screenshotArg, scenario] = process.argv.slice(2);
if (!serverArg || !apiKey || !screenshotArg || !['cancel', 'unavailable'].includes(scenario)) {
  console.error('usage: node compat-page.mjs <server-url> <api-key> <screenshot-dir> <cancel|unavailable>');
  process.exit(2);
}
const server = serverArg.replace(/\/+$/, '');
const pageUrl = pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'clients', 'web', 'compat.html')).href;
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('compat-page.mjs');

// How long the page is watched: a page that loops reconnects every 200 ms; one that gives up after 5 reconnects with
// backoff (0.2 s doubling) is done in about 6 s.
const SETTLE_MS = { cancel: 5000, unavailable: 10000 }[scenario];
const summary = {
  ok: false, workflowId: null, deleteStatus: null, socketsBeforeCancel: null, sockets: null,
  status: null, dot: null, startEnabled: null, events: [], pageErrors: [], failure: null,
};
let browser;
let step = 'launch';
let sockets = 0;
try {
  browser = await launchChromium({ viewport: { width: 1200, height: 1000 } });
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));
  page.on('websocket', () => { sockets++; });

  step = 'open the page from disk';
  await page.goto(pageUrl);
  await page.fill('#server', server);
  await page.fill('#apiKey', apiKey);
  await page.fill('#maxSteps', '3');
  await page.fill('#task', 'Cancel me from another client');

  step = 'start a workflow';
  await page.click('#start');
  await page.waitForFunction(() => [...document.querySelectorAll('#events .text')].some((t) => t.textContent.startsWith('Workflow created: wf_')));
  summary.workflowId = await page.evaluate(() => [...document.querySelectorAll('#events .text')]
    .map((t) => t.textContent).find((t) => t.startsWith('Workflow created: ')).slice('Workflow created: '.length));
  if (scenario === 'cancel') {
    await page.waitForFunction(() => document.getElementById('statusText').textContent === 'Connected'
      && [...document.querySelectorAll('#events .text')].some((t) => t.textContent === 'Status: running'));

    step = 'cancel over REST';
    summary.socketsBeforeCancel = sockets;
    const cancel = await fetch(`${server}/api/v1/workflows/${encodeURIComponent(summary.workflowId)}`,
      { method: 'DELETE', headers: { Authorization: `Bearer ${apiKey}` } });
    summary.deleteStatus = cancel.status;
  }

  step = 'watch the page';
  const end = Date.now() + SETTLE_MS;
  while (Date.now() < end) await page.waitForTimeout(250);
  summary.sockets = sockets;
  Object.assign(summary, await page.evaluate(() => ({
    status: document.getElementById('statusText').textContent,
    dot: document.getElementById('dot').className,
    startEnabled: !document.getElementById('start').disabled,
    events: [...document.querySelectorAll('#events .event')].map((e) => ({
      type: e.querySelector('.type').textContent, text: e.querySelector('.text').textContent,
    })),
  })));
  await page.screenshot({ path: join(screenshotDir, `compat-${scenario}.png`), fullPage: true });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
  summary.sockets = sockets;
  const page = browser?.context.pages().at(-1);
  if (page) await page.screenshot({ path: join(screenshotDir, `compat-${scenario}-failure.png`), fullPage: true }).catch(() => {});
} finally {
  await browser?.close();
}

// Keep the summary line short: the events of a looping page run into the hundreds.
summary.eventCount = summary.events.length;
summary.events = summary.events.slice(0, 40);
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
