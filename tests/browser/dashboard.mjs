// Drives the Felix dashboard as a person would, in Debian's Chromium through playwright-core:
//   node dashboard.mjs <dashboard-url> <screenshot-dir>
// Run 1 (JSON): start a workflow, see agents on the helix and streamed text, reload mid-run, see the history restored,
// wait for the synthesis. Run 2 (MessagePack): switch the protocol, start again, drop the socket mid-run, see the
// automatic reconnect resume with no gap, wait for the synthesis. Then reopen run 1 from the recent list and take a
// phone-sized screenshot. Prints one JSON summary line on stdout; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node dashboard.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });

/** Every wait is bounded; the watchdog ends a run that hangs anyway. */
startWatchdog('dashboard.mjs', 240000);

const summary = {
  ok: false, url, browser: null, runs: [], reopened: null, screenshots: [], pageErrors: [], consoleErrors: [], failure: null,
};

let browser;
let step = 'launch';
try {
  // Keep a handle on every WebSocket the page opens, so the test can drop one the way a network failure would.
  browser = await launchChromium({
    initScript: () => {
      const Native = window.WebSocket;
      window.__felixSockets = [];
      window.WebSocket = class extends Native {
        constructor(...args) {
          super(...args);
          window.__felixSockets.push(this);
        }
      };
    },
  });
  summary.browser = browser.context.browser()?.version() ?? 'chromium';
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') summary.consoleErrors.push(message.text());
  });

  step = 'open dashboard';
  await page.goto(url);
  await waitConnected(page, 'json');

  step = 'run 1 (json)';
  summary.runs.push(await runWorkflow(page, 'json', 'reload'));

  step = 'switch to MessagePack';
  await page.locator('input[name=protocol][value=messagepack]').check();
  await waitConnected(page, 'messagepack');

  step = 'run 2 (messagepack)';
  summary.runs.push(await runWorkflow(page, 'messagepack', 'drop'));

  step = 'reopen run 1 from the recent list';
  const first = summary.runs[0].workflowId;
  await page.locator(`#recent-list a[data-workflow-id="${first}"]`).click();
  await page.waitForFunction((id) => {
    const section = document.getElementById('workflow');
    return section.dataset.workflowId === id && document.getElementById('synthesis').dataset.state === 'done';
  }, first);
  summary.reopened = { workflowId: first, ...(await readWorkflow(page)) };

  step = 'phone screenshot';
  await page.setViewportSize({ width: 390, height: 844 });
  await shoot(page, 'phone.png', false);
  await page.setViewportSize({ width: 1440, height: 1000 });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
  const page = browser?.context.pages()[0];
  if (page) await shoot(page, 'failure.png', true).catch(() => {});
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);

async function waitConnected(page, protocol) {
  await page.waitForFunction(
    (p) => document.body.dataset.connection === 'connected' && document.body.dataset.protocol === p, protocol);
}

async function shoot(page, name, fullPage = true) {
  const path = join(screenshotDir, name);
  await page.screenshot({ path, fullPage });
  summary.screenshots.push(path);
}

/** What the page shows about the open workflow, from its data attributes and text. */
function readWorkflow(page) {
  return page.evaluate(() => {
    const section = document.getElementById('workflow');
    const number = (name) => Number(section.dataset[name] ?? 0);
    return {
      status: section.dataset.status,
      lastSequence: number('lastSequence'),
      eventCount: number('eventCount'),
      duplicatesDropped: number('duplicatesDropped'),
      deltaCount: number('deltaCount'),
      agentsOnHelix: document.querySelectorAll('#helix [data-agent-id]').length,
      agentCards: document.querySelectorAll('#agent-cards .agent-card').length,
      agentTextChars: [...document.querySelectorAll('#agent-cards .agent-text')].reduce((n, p) => n + p.textContent.length, 0),
      synthesisShown: document.getElementById('synthesis').dataset.state === 'done',
      synthesisChars: document.getElementById('synthesis-content').textContent.length,
      confidence: document.getElementById('confidence-value').textContent,
      progress: document.getElementById('progress-bar').getAttribute('aria-valuenow'),
      timelineItems: document.querySelectorAll('#timeline li').length,
      connectionLabel: document.getElementById('connection-state').textContent,
      reconnects: Number(document.body.dataset.reconnects ?? 0),
      gaps: Number(document.body.dataset.gaps ?? 0),
    };
  });
}

async function runWorkflow(page, protocol, interruption) {
  const run = { protocol, interruption };
  await page.locator('#examples .chip').first().click();
  const task = `Browser test over ${protocol}: compare helix exploration with a single agent`;
  await page.fill('#task', task);
  await page.fill('#max-steps', '5');
  const previous = await page.evaluate(() => location.hash);
  await page.click('#start');
  await page.waitForFunction((before) => location.hash.startsWith('#wf_') && location.hash !== before, previous);
  run.workflowId = decodeURIComponent(await page.evaluate(() => location.hash.slice(1)));

  // Agents on the helix and text streaming in, before the workflow is over.
  await page.waitForFunction(() => {
    const section = document.getElementById('workflow');
    const text = [...document.querySelectorAll('#agent-cards .agent-text')].some((p) => p.textContent.length > 0);
    return document.querySelectorAll('#helix [data-agent-id]').length > 0 && Number(section.dataset.deltaCount) > 0 && text;
  });
  run.whileStreaming = await readWorkflow(page);
  await shoot(page, `${protocol}-running.png`);

  if (interruption === 'reload') {
    const before = await readWorkflow(page);
    await page.reload();
    await waitConnected(page, protocol);
    await page.waitForFunction(
      ({ id, sequence }) => {
        const section = document.getElementById('workflow');
        return section.dataset.workflowId === id && Number(section.dataset.lastSequence) >= sequence;
      },
      { id: run.workflowId, sequence: before.lastSequence });
    run.reload = { before, restored: await readWorkflow(page) };
  } else if (interruption === 'drop') {
    const before = await readWorkflow(page);
    const dropped = await page.evaluate(() => {
      const open = window.__felixSockets.filter((s) => s.readyState === WebSocket.OPEN);
      for (const socket of open) socket.close(4000, 'test: simulated network drop');
      return open.length;
    });
    await page.waitForFunction((n) => Number(document.body.dataset.reconnects ?? 0) >= n, before.reconnects + 1);
    await waitConnected(page, protocol);
    run.drop = { socketsClosed: dropped, before, afterReconnect: await readWorkflow(page) };
  }

  await page.waitForFunction(() => {
    const section = document.getElementById('workflow');
    return section.dataset.status === 'completed' && document.getElementById('synthesis').dataset.state === 'done'
      && document.getElementById('synthesis-content').textContent.length > 0;
  });
  run.final = await readWorkflow(page);
  run.inRecentList = await page.locator(`#recent-list a[data-workflow-id="${run.workflowId}"]`).count() > 0
    || await page.waitForSelector(`#recent-list a[data-workflow-id="${run.workflowId}"]`).then(() => true);

  const response = await fetch(new URL(`api/v1/workflows/${run.workflowId}`, url));
  const server = await response.json();
  run.server = {
    status: server.status,
    agents: server.agents_spawned.length,
    confidence: `${Math.round(server.synthesis.confidence * 100)}%`,
  };
  await shoot(page, `${protocol}-completed.png`);
  return run;
}
