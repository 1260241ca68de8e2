// What the dashboard shows of workflows that do not complete, in Debian's Chromium through playwright-core:
//   node workflow-ends.mjs <dashboard-url> <screenshot-dir>
// Opens a workflow id the server does not know, then starts a workflow and cancels it from the page mid-run.
// Prints one JSON summary line on stdout (what the header, the synthesis card and the recent list show);
// exits 1 when a step failed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node workflow-ends.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
const watchdog = setTimeout(() => {
  console.error('workflow-ends.mjs: watchdog expired');
  process.exit(3);
}, Number(process.env.FELIX_BROWSER_TOTAL_TIMEOUT_MS ?? 120000));
watchdog.unref();

const summary = { ok: false, unknown: null, cancelled: null, pageErrors: [], failure: null };
const userDataDir = mkdtempSync(join(tmpdir(), 'felix-chromium-'));
let context;
let step = 'launch';
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(Number(process.env.FELIX_BROWSER_STEP_TIMEOUT_MS ?? 45000));
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
  const page = context?.pages().at(-1);
  if (page) await page.screenshot({ path: join(screenshotDir, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
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
