// Opens a workflow whose task carries markup, controls and bidirectional overrides in the Felix dashboard (Debian's
// Chromium through playwright-core) and reports what the page shows of it:
//   node hostile-text.mjs <dashboard-url> <workflow-id> <screenshot-dir>
// Prints one JSON summary line on stdout; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, workflowId, screenshotArg] = process.argv.slice(2);
if (!url || !workflowId || !screenshotArg) {
  console.error('usage: node hostile-text.mjs <dashboard-url> <workflow-id> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('hostile-text.mjs');

const summary = { ok: false, dialogs: [], pageErrors: [], failure: null };
let browser;
let step = 'launch';
try {
  browser = await launchChromium();
  const { page } = browser;
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
  await browser?.close();
}
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
