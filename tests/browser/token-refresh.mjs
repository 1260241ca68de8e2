// Drives the dashboard in Debian's Chromium through playwright-core against a server that accepts short-lived JWTs:
//   node token-refresh.mjs <dashboard-url> <screenshot-dir> <signing-key> <issuer> <audience> <tenant>
// The server must ask for approval before every synthesis, so each run outlives several tokens. Two runs: JSON with
// tokens from a token endpoint set under ⚙ (served by page.route, same origin as a real one would be), MessagePack
// with window.felixTokenProvider. Every token lives about three seconds, so the server closes the hub connection
// again and again; each run waits for reconnects, approves from the card and reads what the dashboard holds.
// Prints one JSON summary line; exits 1 when a step failed.
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium, startWatchdog } from './launch.mjs';

const [url, screenshotArg, signingKey, issuer, audience, tenant] = process.argv.slice(2);
if (!url || !screenshotArg || !signingKey || !issuer || !audience || !tenant) {
  console.error('usage: node token-refresh.mjs <dashboard-url> <screenshot-dir> <signing-key> <issuer> <audience> <tenant>');
  process.exit(2);
}
const screenshotDir = resolve(screenshotArg);
mkdirSync(screenshotDir, { recursive: true });
startWatchdog('token-refresh.mjs', 150000);

const tokenLifetimeSeconds = 3;
const tokenPath = 'test-auth/token';

/** An HS256 JWT for the test's tenant that may decide approvals, valid for `lifetime` seconds. */
function mintToken(lifetime = tokenLifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({
    sub: 'dashboard-user', tenant, scope: 'felix.approve', iss: issuer, aud: audience, nbf: now - 60, exp: now + lifetime,
  })}`;
  return `${body}.${createHmac('sha256', signingKey).update(body).digest('base64url')}`;
}

const summary = { ok: false, runs: [], pageErrors: [], failure: null };
let step = 'start';
try {
  summary.runs.push(await run('endpoint', 'json'));
  summary.runs.push(await run('provider', 'messagepack'));
  summary.ok = summary.pageErrors.length === 0;
} catch (error) {
  summary.failure = `${step}: ${error?.message ?? error}`.split('\n').slice(0, 6).join('\n');
}
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);

async function run(source, protocol) {
  const result = { source, protocol, workflowId: null, tokensIssued: 0, reconnects: 0, dashboard: null };
  let browser;
  try {
    step = `${source}: launch`;
    browser = await launchChromium({ viewport: { width: 1440, height: 1100 } });
    const { page } = browser;
    page.on('pageerror', (error) => summary.pageErrors.push(`${source}: ${error}`));
    await page.addInitScript((chosen) => localStorage.setItem('felix.protocol', chosen), protocol);
    if (source === 'endpoint') {
      await page.route(`**/${tokenPath}`, (route) => {
        result.tokensIssued += 1;
        return route.fulfill({
          contentType: 'application/json',
          headers: { 'cache-control': 'no-store' },
          body: JSON.stringify({ access_token: mintToken(), token_type: 'Bearer', expires_in: tokenLifetimeSeconds }),
        });
      });
    } else {
      await page.exposeFunction('felixTestToken', () => {
        result.tokensIssued += 1;
        return mintToken();
      });
      await page.addInitScript(() => {
        window.felixTokenProvider = () => window.felixTestToken();
      });
    }

    step = `${source}: open the dashboard`;
    await page.goto(url);
    if (source === 'endpoint') {
      // Without a credential the server refuses the hub; the token endpoint under ⚙ is what lets the page in.
      await page.evaluate(() => { document.querySelector('.settings').open = true; });
      await page.fill('#token-endpoint', tokenPath);
      await page.click('#save-key');
    }
    await page.waitForFunction((p) => document.body.dataset.connection === 'connected' && document.body.dataset.protocol === p, protocol);

    step = `${source}: start a workflow`;
    await page.fill('#task', `Token refresh over ${protocol}: explain quantum computing`);
    await page.fill('#max-steps', '2');
    await page.click('#start');
    await page.waitForFunction(() => location.hash.startsWith('#wf_'));
    result.workflowId = decodeURIComponent(await page.evaluate(() => location.hash.slice(1)));

    step = `${source}: outlive two tokens, then approve`;
    const reconnectsAtStart = await reconnects(page);
    await page.waitForFunction((n) => Number(document.body.dataset.reconnects ?? 0) >= n
      && !document.getElementById('approval').hidden
      && document.body.dataset.connection === 'connected', reconnectsAtStart + 2, { timeout: 60000 });
    await page.click('#approve');

    step = `${source}: wait for completion`;
    await page.waitForFunction(() => document.getElementById('workflow').dataset.status === 'completed'
      && document.getElementById('synthesis').dataset.state === 'done');
    result.reconnects = await reconnects(page);
    result.dashboard = await page.evaluate(() => {
      const section = document.getElementById('workflow');
      return {
        lastSequence: Number(section.dataset.lastSequence),
        eventCount: Number(section.dataset.eventCount),
        duplicatesDropped: Number(section.dataset.duplicatesDropped),
        deltaCount: Number(section.dataset.deltaCount),
        // The timeline without text deltas (hidden unless ticked): one row per event, in the order applied.
        timeline: [...document.querySelectorAll('#timeline li[data-sequence]')].map((li) => ({
          sequence: Number(li.dataset.sequence),
          type: li.querySelector('.type').textContent.replaceAll(' ', '_'),
        })),
      };
    });
    await page.screenshot({ path: join(screenshotDir, `token-refresh-${source}.png`), fullPage: true });
    if (source === 'endpoint') {
      step = 'endpoint: the token source\'s other answers';
      result.sourceContract = await checkTokenSource(page);
    }
    return result;
  } catch (error) {
    const page = browser?.context.pages().at(-1);
    if (page) await page.screenshot({ path: join(screenshotDir, `token-refresh-${source}-failure.png`), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await browser?.close();
  }
}

/**
 * The parts of js/token.js the runs above do not reach: a bare-text endpoint, a long-lived token reused from the cache
 * rather than fetched again, the key box as the fallback, and a provider taking precedence over both.
 */
async function checkTokenSource(page) {
  const longLived = mintToken(600);
  let plainServed = 0;
  await page.route('**/test-auth/plain', (route) => {
    plainServed += 1;
    return route.fulfill({ contentType: 'text/plain', body: `${longLived}\n` });
  });
  const seen = await page.evaluate(async () => {
    const { TokenSource } = await import(new URL('js/token.js', document.baseURI).href);
    const endpoint = new TokenSource({ apiKey: 'ignored-key', tokenEndpoint: 'test-auth/plain' });
    const first = await endpoint.getToken();
    const second = await endpoint.getToken();
    const key = await new TokenSource({ apiKey: 'the-key' }).getToken();
    window.felixTokenProvider = async () => 'from-provider';
    const provided = await endpoint.getToken();
    delete window.felixTokenProvider;
    return { first, second, key, provided, kind: endpoint.kind };
  });
  return { ...seen, servedLongLived: seen.first === longLived, plainServed };
}

function reconnects(page) {
  return page.evaluate(() => Number(document.body.dataset.reconnects ?? 0));
}
