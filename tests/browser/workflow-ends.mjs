// What the dashboard shows of workflows that do not complete, in Debian's Chromium through playwright-core:
//   node workflow-ends.mjs <dashboard-url> <screenshot-dir>
// Opens a workflow id the server does not know, then starts a workflow and cancels it from the page mid-run.
// Prints one JSON summary line on stdout (what the header, the synthesis card and the recent list show);
// exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node workflow-ends.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('workflow-ends.mjs');

const summary = { ok: false, unknown: null, cancelled: null, pageErrors: [], failure: null };
let browser;
let step = 'launch';
try {
  browser = await launchChromium();
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));

  step = 'open a workflow the server does not know';
  await page.goto(new URL('#wf_0000000000000000', url).toString());
  await page.waitForFunction(() => !document.getElementById('wf-error').hidden);
  summary.unknown = await readWorkflow(page);
  await page.screenshot({ path: join(screenshotDir, 'unknown.png'), fullPage: true });

  step = 'start a workflow';
  await page.goto(new URL('#', url).toString());
  await page.waitForFunction(() => document.body.dataset.connection === 'connected');
  await page.fill('#task', 'Cancelled from the dashboard');
  await page.fill('#max-steps', '5');
  await page.click('#start');
  await page.waitForFunction(() => location.hash.startsWith('#wf_'));
  const id = decodeURIComponent(await page.evaluate(() => location.hash.slice(1)));

  step = 'cancel it mid-run';
  await page.waitForFunction(() => document.querySelectorAll('#agent-cards > *').length > 0);
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('wf-status').textContent === 'cancelled');
  // The list is refreshed when a workflow ends; give that request time to come back before reading it.
  await page.waitForFunction((wf) => document.querySelector(`#recent-list a[data-workflow-id="${wf}"]`)?.dataset.status === 'cancelled', id, { timeout: 10000 })
    .catch(() => {});
  summary.cancelled = {
    id,
    ...await readWorkflow(page),
    recentStatus: await page.evaluate((wf) => document.querySelector(`#recent-list a[data-workflow-id="${wf}"]`)?.dataset.status ?? null, id),
  };
  await page.screenshot({ path: join(screenshotDir, 'cancelled.png'), fullPage: true });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
  const page = browser?.context.pages().at(-1);
  if (page) await page.screenshot({ path: join(screenshotDir, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);

function readWorkflow(page) {
  return page.evaluate(() => ({
    status: document.getElementById('wf-status').textContent,
    cancelShown: !document.getElementById('cancel').hidden,
    error: document.getElementById('wf-error').hidden ? null : document.getElementById('wf-error').textContent,
    synthesisState: document.getElementById('synthesis').dataset.state,
    synthesisText: document.getElementById('synthesis-waiting').textContent,
  }));
}
