// Drives the dashboard's approval card in Debian's Chromium through playwright-core:
//   node approval.mjs <dashboard-url-of-a-server-that-asks-before-synthesis> <screenshot-dir>
// Starts a workflow, revises the synthesis with a comment from the card, approves the second one, and waits for the
// run to complete. Prints one JSON summary line; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node approval.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('approval.mjs');

const summary = { ok: false, workflowId: null, first: null, second: null, pageErrors: [], failure: null };
let browser;
let step = 'launch';
try {
  browser = await launchChromium({ viewport: { width: 1440, height: 1100 } });
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));

  step = 'open dashboard';
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.connection === 'connected');

  step = 'start a workflow';
  await page.fill('#task', 'Approval card test: explain quantum computing');
  await page.fill('#max-steps', '1');
  await page.click('#start');
  await page.waitForFunction(() => location.hash.startsWith('#wf_'));
  summary.workflowId = decodeURIComponent(await page.evaluate(() => location.hash.slice(1)));

  step = 'revise from the card';
  await page.waitForFunction(() => !document.getElementById('approval').hidden);
  summary.first = await readCard(page);
  await page.screenshot({ path: join(screenshotDir, 'approval-waiting.png'), fullPage: true });
  await page.fill('#approval-comment', 'Shorter, please.');
  await page.click('#revise');

  step = 'approve the revised synthesis';
  await page.waitForFunction((first) => {
    const card = document.getElementById('approval');
    return !card.hidden && card.dataset.approvalId && card.dataset.approvalId !== first;
  }, summary.first.approvalId);
  summary.second = await readCard(page);
  await page.click('#approve');

  step = 'wait for completion';
  await page.waitForFunction(() => document.getElementById('synthesis').dataset.state === 'done'
    && document.getElementById('approval').hidden);
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
  const page = browser?.context.pages().at(-1);
  if (page) await page.screenshot({ path: join(screenshotDir, 'approval-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);

function readCard(page) {
  return page.evaluate(() => ({
    approvalId: document.getElementById('approval').dataset.approvalId,
    title: document.getElementById('approval-title').textContent,
    content: document.getElementById('approval-content').textContent,
  }));
}
