// What the dashboard says when a REST call does not reach Felix Server, in Debian's Chromium through playwright-core:
//   node unreachable.mjs <dashboard-url> <screenshot-dir>
// The calls are cut by the page's own network layer (page.route): Start meets a refused connection, the recent list a
// proxy's HTML error page. Prints one JSON summary line on stdout with the texts shown; exits 1 when a step failed.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node unreachable.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('unreachable.mjs');

const summary = { ok: false, startError: null, recentError: null, pageErrors: [], failure: null };
let browser;
let step = 'launch';
try {
  browser = await launchChromium();
  const { page } = browser;
  page.on('pageerror', (error) => summary.pageErrors.push(String(error)));

  step = 'open dashboard';
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.connection === 'connected');

  step = 'start while the server cannot be reached';
  await page.route('**/api/v1/workflows', (route) => route.abort('connectionrefused'));
  await page.fill('#task', 'Never arrives');
  await page.click('#start');
  await page.waitForFunction(() => !document.getElementById('start-error').hidden);
  summary.startError = await page.evaluate(() => document.getElementById('start-error').textContent);

  step = 'refresh the list behind a proxy that answers with its own error page';
  await page.unroute('**/api/v1/workflows');
  await page.route('**/api/v1/workflows?*', (route) => route.fulfill({
    status: 502, contentType: 'text/html', body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
  }));
  await page.click('#refresh-recent');
  await page.waitForFunction(() => document.getElementById('recent-empty').textContent.startsWith('Could not load workflows'));
  summary.recentError = await page.evaluate(() => document.getElementById('recent-empty').textContent);
  await page.screenshot({ path: join(screenshotDir, 'unreachable.png'), fullPage: true });
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
} finally {
  await browser?.close();
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
