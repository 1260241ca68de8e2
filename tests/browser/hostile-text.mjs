// Opens a workflow whose task carries markup, controls and bidirectional overrides in the Felix dashboard (Debian's
// Chromium through playwright-core) and reports what the page shows of it:
//   node hostile-text.mjs <dashboard-url> <workflow-id> <screenshot-dir>
// Prints one JSON summary line on stdout; exits 1 when a step failed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [url, workflowId, screenshotArg] = process.argv.slice(2);
if (!url || !workflowId || !screenshotArg) {
  console.error('usage: node hostile-text.mjs <dashboard-url> <workflow-id> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
const watchdog = setTimeout(() => {
  console.error('hostile-text.mjs: watchdog expired');
  process.exit(3);
}, 120000);
watchdog.unref();

const summary = { ok: false, dialogs: [], pageErrors: [], failure: null };
const userDataDir = mkdtempSync(join(tmpdir(), 'felix-chromium-'));
let context;
let step = 'launch';
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1000 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(45000);
  page.on('dialog', (dialog) => {
    summary.dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));

  step = 'open the workflow';
  await page.goto(new URL(`#${workflowId}`, url).toString());
  await page.waitForFunction(() => document.getElementById('wf-status')?.textContent === 'completed');
  await page.waitForFunction(() => document.querySelector('#recent-list .recent-task, .recent-task'));

  step = 'read what the page shows';
  Object.assign(summary, await page.evaluate(() => ({
    task: document.getElementById('wf-task').textContent,
    recentTask: document.querySelector('.recent-task').textContent,
    synthesis: document.getElementById('synthesis-content').textContent,
    agentText: document.querySelector('.agent-text')?.textContent ?? null,
    injected: window.__felixInjected ?? null,
    images: document.querySelectorAll('img').length,
  })));

  await page.screenshot({ path: join(screenshotDir, 'hostile-text.png'), fullPage: true });
  summary.ok = true;
} catch (error) {
  summary.failure = `${step}: ${error.message}`;
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
