// harness.mjs — the browser suite's world: a fresh database on the test cluster, a real
// suanlid (the sanitised test build) serving the API and web/, the demo seed, and Debian's
// Chromium driven headless by playwright-core. Run by tests/run-all (which exports
// SUANLI_TEST_PG, SUANLI_TEST_BIN, SUANLI_KEY_FILE, SUANLI_SQL_DIR, SUANLI_WEB_DIR).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, openSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const artifacts = path.join(root, 'tests/artifacts/browser');
export const PASSWORD = 'suanli-demo';
export const LOGINS = {
  institute: 'lab@scu.suanli.demo',
  admin: 'admin@chengdu.suanli.demo',
  auditor: 'auditor@chengdu.suanli.demo',
  provider: 'ops@westcloud.suanli.demo',
  operator: 'operator@suanli.demo',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Starts suanlid on a fresh database with the demo seed; SUANLI_BROWSER_BASE uses a running
// server instead (for working on the UI).
export async function startServer() {
  if (process.env.SUANLI_BROWSER_BASE) return { base: process.env.SUANLI_BROWSER_BASE, stop: async () => 0 };
  const pg = process.env.SUANLI_TEST_PG;
  const bin = process.env.SUANLI_TEST_BIN;
  assert.ok(pg && bin, 'SUANLI_TEST_PG and SUANLI_TEST_BIN are not set: run the suite through make test');
  const db = `t_browser_${process.pid}_${Date.now() % 100000}`;
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${db}`, `${pg} dbname=postgres`]);
  const dburl = `${pg} dbname=${db}`;
  const port = await freePort();
  const logs = process.env.SUANLI_TEST_LOGS || '/tmp';
  mkdirSync(logs, { recursive: true });
  const log = path.join(logs, `suanlid-browser-${port}.log`);
  const out = openSync(log, 'a');
  const env = {
    ...process.env, DATABASE_URL: dburl, SUANLI_LISTEN: `127.0.0.1:${port}`, SUANLI_THREADS: '4',
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', SUANLI_WEB_DIR: process.env.SUANLI_WEB_DIR || path.join(root, 'web'),
  };
  const proc = spawn(bin, ['serve', '--migrate', '--demo-seed'], { env, stdio: ['ignore', out, out] });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = code ?? 128; if (sig) exited = `signal ${sig}`; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 900; i++) {
    if (exited !== null) throw new Error(`suanlid exited during start (${exited}); see ${log}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
    if (i === 899) throw new Error(`suanlid did not become ready in 90 s; see ${log}`);
  }
  return {
    base, log, dburl,
    // SIGTERM; resolves the exit status (0 = clean, and leak-free under LeakSanitizer).
    stop: () => new Promise((resolve) => {
      if (exited !== null) { resolve(exited); return; }
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30000);
      proc.on('exit', (code, sig) => { clearTimeout(timer); resolve(sig ? `signal ${sig}` : code); });
      proc.kill('SIGTERM');
    }),
  };
}

// Every response a page gets from the server for what openapi.yaml describes (the API, the
// operations endpoints, /openapi.yaml and /docs; not the UI's static files) is appended to
// SUANLI_TEST_RESPONSES in the format of tests/lib/harness.c's record(), for tests/run-all's
// contract step (tests/contract/validate.mjs). Responses a test stubs with page.route() are
// not the server's and carry no X-Request-Id (the server sets one on every reply): skipped.
const SPEC_PATH = /^\/(v1\/.*|healthz|readyz|metrics|openapi\.yaml|docs)$/;
const RECORDED_TYPES = new Set(['document', 'fetch', 'xhr']);
const pendingRecords = new Set();
export const recordStats = { recorded: 0, withoutBody: 0 };

function recordResponses(context, base) {
  const file = process.env.SUANLI_TEST_RESPONSES;
  if (!file) return;
  const origin = new URL(base).origin;
  context.on('response', (response) => {
    const request = response.request();
    const url = new URL(response.url());
    const headers = response.headers();
    if (url.origin !== origin || !SPEC_PATH.test(url.pathname) || !RECORDED_TYPES.has(request.resourceType())
        || !headers['x-request-id']) return;
    const rec = { method: request.method(), path: url.pathname, status: response.status(), content_type: headers['content-type'] || '' };
    if (url.search) rec.query = url.search.slice(1);
    // Ask for the body now, while the page still holds it; the write waits for it.
    const done = response.body().then((buf) => {
      const text = buf.toString('utf8');
      try { rec.body = JSON.parse(text); } catch { rec.text = text; }
    }, () => {
      // 204 and 304 have no body (as tests/lib/harness.c records them: empty text); any other is
      // checked for its status and content type only.
      if (rec.status === 204 || rec.status === 304) rec.text = '';
      else recordStats.withoutBody++;
    }).then(() => {
      appendFileSync(file, `${JSON.stringify(rec)}\n`);
      recordStats.recorded++;
    });
    pendingRecords.add(done);
    done.finally(() => pendingRecords.delete(done));
  });
}

// Waits until every response seen so far is written.
export async function flushResponses() {
  while (pendingRecords.size) await Promise.allSettled([...pendingRecords]);
}

export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.SUANLI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  // Closing waits for the recordings: none is lost when a test ends with the browser.
  const close = browser.close.bind(browser);
  browser.close = async (...args) => {
    await flushResponses();
    if (process.env.SUANLI_TEST_RESPONSES) {
      console.log(`recorded ${recordStats.recorded} server responses for the contract check (${recordStats.withoutBody} without a readable body)`);
    }
    return close(...args);
  };
  return browser;
}

// A fresh context (cookies, storage) with the page's problems collected: uncaught errors,
// console errors, CSP violations and missing translations fail the test that reads them.
export async function newPage(browser, base, opts = {}) {
  const context = await browser.newContext({
    baseURL: base, viewport: opts.viewport || { width: 1280, height: 900 }, acceptDownloads: true,
    locale: opts.locale || 'en-GB', timezoneId: 'Asia/Shanghai',
  });
  await context.addInitScript((l) => { if (!localStorage.getItem('suanli.lang')) localStorage.setItem('suanli.lang', l); }, opts.lang || 'en');
  recordResponses(context, base);
  const closeContext = context.close.bind(context);
  context.close = async (...args) => {
    await flushResponses();
    return closeContext(...args);
  };
  const page = await context.newPage();
  // Deadlines, not delays: generous, for a machine that other work keeps busy.
  page.setDefaultTimeout(30000);
  page.setDefaultNavigationTimeout(60000);
  // Every console error is a problem, but a failed load (the browser logs each 4xx answer) is
  // kept apart with its status and URL: a test declares the ones it provokes on purpose.
  const problems = [];
  const failedLoads = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (/i18n: missing|Content Security Policy|Refused to/.test(text)) problems.push(`console: ${text}`);
    else if (failed) failedLoads.push({ status: Number(failed[1]), url: m.location().url });
    else if (m.type() === 'error') problems.push(`console error: ${text}`);
  });
  page.problems = problems;
  page.failedLoads = failedLoads;
  return page;
}

export async function signIn(page, who) {
  await page.goto('/#/signin');
  await page.getByLabel(/^Email|^邮箱/).fill(LOGINS[who] || who);
  await page.getByLabel(/^Password|^密码/).fill(PASSWORD);
  await page.getByRole('button', { name: /^(Sign in|登录)$/ }).click();
  await page.waitForSelector('#sign-out');
}

export async function shot(page, name, { fullPage = true } = {}) {
  mkdirSync(artifacts, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

const axeSource = readFileSync(path.join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');

// Runs axe-core in the page (evaluated through the DevTools protocol, so the page's CSP stays
// strict) and returns the serious and critical violations.
export async function axe(page) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

// The API with the page's session (cookie and CSRF token), for setting up and checking.
export async function api(page, method, url, body, headers = {}) {
  return page.evaluate(async ([m, u, b, hd]) => {
    const h = { Accept: 'application/json', ...hd };
    if (m !== 'GET') h['X-CSRF-Token'] = localStorage.getItem('suanli.csrf');
    if (b !== undefined) h['Content-Type'] = 'application/json';
    const r = await fetch(u, { method: m, headers: h, body: b === undefined ? undefined : JSON.stringify(b) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* text */ }
    return { status: r.status, json, text, type: r.headers.get('Content-Type') };
  }, [method, url, body, headers]);
}
