// What every browser script here starts with: a watchdog that ends a stuck run, and Debian's Chromium, headless,
// in a profile of its own that close() removes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** How long one wait on a page may take (page.setDefaultTimeout of every page launchChromium hands out). */
const stepTimeoutMs = Number(process.env.FELIX_BROWSER_STEP_TIMEOUT_MS ?? 45000);

/**
 * Exits the process (code 3) when the whole script has run longer than FELIX_BROWSER_TOTAL_TIMEOUT_MS, or
 * `defaultMs` when that is not set (scripts with several workflows or launches need longer than the default).
 */
export function startWatchdog(script, defaultMs = 120000) {
  const watchdog = setTimeout(() => {
    console.error(`${script}: watchdog expired`);
    process.exit(3);
  }, Number(process.env.FELIX_BROWSER_TOTAL_TIMEOUT_MS ?? defaultMs));
  watchdog.unref();
}

/**
 * The browser context and its first page; close() also removes the profile. Options:
 *   viewport:   the window size (default 1440x1000);
 *   initScript: a function run in every document before the page's own scripts (context.addInitScript).
 * newPage() opens another page with the same step timeout.
 */
export async function launchChromium({ viewport = { width: 1440, height: 1000 }, initScript } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'felix-chromium-'));
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    if (initScript) await context.addInitScript(initScript);
    page = context.pages()[0] ?? await context.newPage();
  } catch (error) {
    // The caller gets no close() to call when the launch fails, so the profile goes here.
    await context?.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  page.setDefaultTimeout(stepTimeoutMs);
  return {
    context,
    page,
    async newPage() {
      const another = await context.newPage();
      another.setDefaultTimeout(stepTimeoutMs);
      return another;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
