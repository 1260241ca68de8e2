// What the dashboard says when a REST call does not reach Felix Server, in Debian's Chromium through playwright-core:
//   node unreachable.mjs <dashboard-url> <screenshot-dir>
// The calls are cut by the page's own network layer (page.route): Start meets a refused connection, the recent list a
// proxy's HTML error page. Prints one JSON summary line on stdout with the texts shown; exits 1 when a step failed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshotArg] = process.argv.slice(2);
if (!url || !screenshotArg) {
  console.error('usage: node unreachable.mjs <dashboard-url> <screenshot-dir>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
const watchdog = setTimeout(() => {
  console.error('unreachable.mjs: watchdog expired');
  process.exit(3);
}, Number(process.env.FELIX_BROWSER_TOTAL_TIMEOUT_MS ?? 120000));
watchdog.unref();

const summary = { ok: false, startError: null, recentError: null, pageErrors: [], failure: null };
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
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
