// The dashboard against a server that wants a key, in Debian's Chromium through playwright-core:
//   node keys.mjs <dashboard-url> <api-key> <screenshot-dir>
// Start without a key, save the right one (the earlier error must go), start a workflow, then save a wrong one (the
// recent list must say so rather than keep showing what the right key listed). Prints one JSON summary line on
// stdout; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, apiKey, screenshotArg] = process.argv.slice(2);
if (!url || !apiKey || !screenshotArg) {
  console.error('usage: node keys.mjs <dashboard-url> <api-key> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('keys.mjs');

const summary = {
  ok: false, withoutKey: null, startErrorWithoutKey: null, startErrorShownAfterTheRightKey: null,
  recentAfterTheRightKey: null, recentAfterAWrongKey: null, pageErrors: [], failure: null,
};
let browser;
let step = 'launch';

async function saveKey(page, key) {
  await page.evaluate(() => { document.querySelector('.settings').open = true; });
  await page.fill('#api-key', key);
  await page.click('#save-key');
}

try {
  browser = await launchChromium();
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));

  step = 'open dashboard without a key';
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('connection-state').textContent === 'API key needed');
  summary.withoutKey = await page.evaluate(() => document.getElementById('connection-state').textContent);

  step = 'start without a key';
  await page.fill('#task', 'Refused');
  await page.click('#start');
  await page.waitForFunction(() => !document.getElementById('start-error').hidden);
  summary.startErrorWithoutKey = await page.evaluate(() => document.getElementById('start-error').textContent);

  step = 'save the right key';
  await saveKey(page, apiKey);
  await page.waitForFunction(() => document.body.dataset.connection === 'connected');
  await page.waitForFunction(() => document.getElementById('recent-empty').textContent === 'No workflows yet.');
  summary.startErrorShownAfterTheRightKey = await page.evaluate(() => !document.getElementById('start-error').hidden);

  step = 'start a workflow with the right key';
  await page.fill('#task', 'Listed with the right key');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelectorAll('#recent-list li').length > 0);
  summary.recentAfterTheRightKey = await page.evaluate(() => document.querySelectorAll('#recent-list li').length);

  step = 'save a wrong key';
  await saveKey(page, `${apiKey}-wrong`);
  await page.waitForFunction(() => document.getElementById('recent-empty').textContent.startsWith('Could not load workflows'));
  summary.recentAfterAWrongKey = await page.evaluate(() => ({
    message: document.getElementById('recent-empty').textContent,
    listed: document.querySelectorAll('#recent-list li').length,
  }));
  await page.screenshot({ path: join(screenshotDir, 'wrong-key.png'), fullPage: true });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
