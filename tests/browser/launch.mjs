// What every browser script here starts with: a watchdog that ends a stuck run, and Debian's Chromium, headless,
// in a profile of its own that close() removes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Exits the process (code 3) when the whole script has run longer than FELIX_BROWSER_TOTAL_TIMEOUT_MS. */
export function startWatchdog(script) {
  const watchdog = setTimeout(() => {
    console.error(`${script}: watchdog expired`);
    process.exit(3);
  }, Number(process.env.FELIX_BROWSER_TOTAL_TIMEOUT_MS ?? 120000));
  watchdog.unref();
}

/** The browser context and its first page; close() also removes the profile. */
export async function launchChromium() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'felix-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(Number(process.env.FELIX_BROWSER_STEP_TIMEOUT_MS ?? 45000));
  return {
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
