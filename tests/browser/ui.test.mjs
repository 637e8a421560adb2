// The web UI in a real browser against a real suanlid and PostgreSQL: every role's main task
// end to end, an axe-core scan of every page, keyboard use, both languages, and screenshots of
// each page in tests/artifacts/browser/ for a reviewer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, startBrowser, newPage, signIn, shot, axe, api, hasRoute, artifacts, root,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// "¥1,234.56" → 123456n
const fenOf = (text) => {
  const m = /(−|-)?¥([\d,]+)\.(\d\d)/.exec(text);
  assert.ok(m, `no amount in "${text}"`);
  return (BigInt(m[2].replace(/,/g, '')) * 100n + BigInt(m[3])) * (m[1] ? -1n : 1n);
};

// The page a test works in, screenshotted as FAILED-<test>.png when the test fails.
let current = null;
async function track(t, fn) {
  try {
    await fn();
  } catch (e) {
    if (current && !current.isClosed()) await shot(current, `FAILED-${t.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
    throw e;
  }
}

const open = async (opts) => (current = await newPage(browser, server.base, opts));
const flow = (name, fn) => test(name, (t) => track(t, () => fn(t)));

function noProblems(page) {
  assert.deepEqual(page.problems, [], 'the page logged errors, CSP violations or missing translations');
}

test('the UI is served with a strict Content-Security-Policy and the security headers', async () => {
  for (const url of ['/', '/docs', '/js/app.js', '/app.css', '/vendor/qrcode.mjs', '/js/docs.js', '/docs.css',
    '/vendor/swagger-ui/swagger-ui-bundle.js', '/vendor/swagger-ui/swagger-ui.css']) {
    const r = await fetch(server.base + url);
    assert.equal(r.status, 200, url);
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  }
  for (const file of ['web/index.html', 'web/docs.html']) {
    const html = readFileSync(path.join(root, file), 'utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${file}: no inline script`);
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, `${file}: no inline style or handler attributes`);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, `${file}: nothing from another origin`);
  }
});

test('both languages label everything: the English and Chinese strings have the same keys', async () => {
  const { en, zh } = await import('../../web/js/strings.js');
  assert.deepEqual(Object.keys(zh).filter((k) => !(k in en)), []);
  assert.deepEqual(Object.keys(en).filter((k) => !(k in zh)), []);
});

flow('sign-in: a wrong password is explained on the form; each role sees only its own pages', async () => {
  const page = await open();
  await page.goto('/');
  await page.getByLabel('Email').fill('lab@scu.suanli.demo');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Email or password is wrong' }).waitFor();
  await shot(page, '00-signin-error');
  const expect = {
    institute: ['My vouchers', 'Offers', 'Match', 'My orders', 'Redemptions'],
    admin: ['Offers', 'Programmes', 'Vouchers', 'Institutes & providers', 'Audit log', 'Reports', 'Anomalies'],
    auditor: ['Offers', 'Programmes', 'Vouchers', 'Institutes & providers', 'Audit log', 'Reports', 'Anomalies'],
    provider: ['My offers', 'Orders', 'Utilisation'],
  };
  for (const [who, nav] of Object.entries(expect)) {
    const p = await open();
    await signIn(p, who);
    const links = await p.locator('#nav a').allTextContents();
    assert.deepEqual(links, nav, `${who} navigation`);
    if (who === 'institute') {
      await p.goto('/#/programs/new');
      await p.getByRole('heading', { name: 'Not for your role' }).waitFor();
    }
    await p.locator('#sign-out').click();
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    noProblems(p);
    await p.context().close();
  }
  noProblems(page);
  await page.context().close();
});

flow('keyboard only: skip link, sign-in and navigation work without a mouse, with visible focus', async () => {
  const page = await open();
  await page.goto('/#/signin');
  await page.locator('input[name=email]').waitFor();
  await page.keyboard.type('lab@scu.suanli.demo');
  await page.keyboard.press('Tab');
  await page.keyboard.type('suanli-demo');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sign-out');
  // after navigation the new page's heading has the focus, so screen readers start there
  await page.waitForFunction(() => document.activeElement.tagName === 'H1');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.matches(':focus-visible')), true);
  await page.reload();
  await page.locator('#sign-out').waitFor();
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement.id || document.activeElement.textContent);
  assert.equal(first, 'skip-link');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  noProblems(page);
  await page.context().close();
});

flow('institute: search, match, reserve with a voucher, see the net cost, cancel, balance restored', async (t) => {
  const page = await open();
  await signIn(page, 'institute');
  if (!(await hasRoute(page, '/v1/vouchers'))) { t.skip('pending: GET /v1/vouchers is not on this server'); return; }
  const card = page.locator('article.voucher').first();
  await card.waitFor();
  const balance0 = fenOf(await card.locator('.balance-value').textContent());
  assert.ok(balance0 > 0n, 'the demo voucher has a balance');
  await card.getByRole('button', { name: 'Show token and QR code' }).click();
  await card.locator('svg.qr').waitFor();
  assert.match(await card.locator('textarea.token').inputValue(), /^v4\.public\./);
  await shot(page, '10-institute-vouchers');

  // search with filters and a sort
  await page.getByRole('link', { name: 'Offers' }).click();
  await page.getByLabel('Resource class').selectOption('gpu');
  await page.getByRole('group', { name: 'Region' }).getByLabel('Ningxia').check();
  await page.getByLabel('Sort by').selectOption('price');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/region=ningxia/);
  const rows = page.locator('table.data tbody tr');
  await rows.first().waitFor();
  for (const r of await rows.allTextContents()) assert.match(r, /Ningxia/);
  await shot(page, '11-institute-offers');
  // a bad filter is explained next to it
  await page.getByLabel('Maximum PUE').fill('9');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('[data-field="max_pue"] .field-error').filter({ hasText: /./ }).waitFor();

  // match
  await page.getByRole('link', { name: 'Match' }).click();
  await page.getByLabel('Accelerator').fill('H100');
  await page.getByLabel(/^Units/).fill('8');
  await page.getByRole('group', { name: 'Regions' }).getByLabel('Ningxia').check();
  await page.getByRole('button', { name: 'Find plans' }).click();
  const plan = page.locator('li.plan').first();
  await plan.waitFor();
  assert.match(await plan.locator('details.reasons').textContent(), /Rank 1 of \d+ by net cost.*Net cost ¥[\d,]+\.\d\d = gross ¥/);
  const subsidyPlanned = fenOf(await plan.locator('dd.subsidy').textContent());
  assert.ok(subsidyPlanned > 0n, 'the plan is priced with the voucher applied');
  await shot(page, '12-institute-match');

  // reserve the plan with the voucher: gross, subsidy and net are shown before confirming
  await plan.getByRole('button', { name: /Reserve plan 1/ }).click();
  await page.getByRole('heading', { name: 'Reserve capacity' }).waitFor();
  await page.locator('.preview dd.net-value').waitFor();
  const gross = fenOf(await page.locator('.preview dd.gross').textContent());
  const subsidy = fenOf(await page.locator('.preview dd.subsidy').textContent());
  const net = fenOf(await page.locator('.preview dd.net-value').textContent());
  assert.equal(net, gross - subsidy);
  assert.ok(subsidy > 0n);
  await shot(page, '13-institute-reserve');
  // more units than the offer has: the server's refusal is shown in words on the form
  await page.getByLabel(/^Units/).fill('1000');
  await page.getByRole('button', { name: 'Reserve', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Reserve' }).click();
  await page.locator('.form-problem').filter({ hasText: /Not enough free units in that window\..*free units/ }).waitFor();
  assert.equal(await page.locator('[data-field="units"] .field-error').textContent(), 'Not enough free units in that window.');
  assert.equal(await page.getByLabel(/^Units/).getAttribute('aria-invalid'), 'true');
  await shot(page, '13-institute-reserve-refused');
  await page.getByLabel(/^Units/).fill('8');
  await page.getByRole('button', { name: 'Update the estimate' }).click();
  await page.locator('.form-problem').waitFor({ state: 'detached' });
  assert.equal(fenOf(await page.locator('.preview dd.net-value').textContent()), net);
  await page.getByRole('button', { name: 'Reserve', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Net cost/);
  await shot(page, '14-institute-reserve-confirm');
  await dialog.getByRole('button', { name: 'Reserve' }).click();
  const done = page.locator('section.success');
  await done.waitFor();
  const charged = { gross: fenOf(await done.locator('dd.gross').textContent()), subsidy: fenOf(await done.locator('dd.subsidy').textContent()), net: fenOf(await done.locator('dd.net-value').textContent()) };
  assert.equal(charged.net, charged.gross - charged.subsidy);
  assert.equal(charged.subsidy, subsidy, 'the server charged what the preview showed');
  await shot(page, '15-institute-reserved');

  // the voucher paid the subsidy
  await page.getByRole('link', { name: 'My vouchers' }).first().click();
  await page.locator('article.voucher .balance-value').first().waitFor();
  assert.equal(fenOf(await page.locator('article.voucher .balance-value').first().textContent()), balance0 - subsidy);

  // cancel: the refund is shown, and the balance comes back
  await page.getByRole('link', { name: 'My orders' }).click();
  const reserved = page.locator('table.data tbody tr').filter({ hasText: 'Reserved' }).first();
  await reserved.waitFor();
  const row = page.locator(`tr[data-key="${await reserved.getAttribute('data-key')}"]`);
  await shot(page, '16-institute-orders');
  await row.getByRole('button', { name: /Cancel order/ }).click();
  assert.equal(fenOf(await page.getByRole('dialog').locator('dd').textContent()), subsidy);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel order' }).click();
  await row.locator('.refund').waitFor();
  assert.match(await row.textContent(), /Cancelled/);
  assert.equal(fenOf(await row.locator('.refund').textContent()), subsidy);
  assert.equal(fenOf(await row.locator('[data-label="Voucher subsidy"]').textContent()), 0n);
  assert.equal(fenOf(await row.locator('[data-label="Net cost"]').textContent()), gross);
  await shot(page, '17-institute-cancelled');
  await page.getByRole('link', { name: 'My vouchers' }).click();
  await page.locator('article.voucher .balance-value').first().waitFor();
  assert.equal(fenOf(await page.locator('article.voucher .balance-value').first().textContent()), balance0, 'balance restored');

  await page.getByRole('link', { name: 'Redemptions' }).click();
  await page.locator('table.data, p.empty, .notice').first().waitFor();
  await shot(page, '18-institute-redemptions');
  noProblems(page);
  await page.context().close();
});

flow('city administrator: create a programme, issue vouchers from a CSV upload, revoke one', async (t) => {
  const page = await open();
  await signIn(page, 'admin');
  if (!(await hasRoute(page, '/v1/programs'))) { t.skip('pending: /v1/programs is not on this server'); return; }
  await page.locator('article.program').first().waitFor();
  await shot(page, '20-admin-programs');
  await page.getByRole('link', { name: 'New programme' }).click();
  const name = `Browser programme ${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel(/^Budget/).fill('abc');
  await page.getByRole('button', { name: 'Create programme' }).click();
  await page.locator('[data-field="budget_fen"] .field-error').filter({ hasText: 'Enter an amount' }).waitFor();
  await page.getByLabel(/^Budget/).fill('1,000,000');
  await page.getByLabel(/Share of an order/).fill('40');
  await page.getByRole('button', { name: 'Create programme' }).click();
  await page.getByRole('heading', { name }).waitFor();
  assert.match(await page.locator('.gauge').textContent(), /¥1,000,000\.00/);
  await shot(page, '21-admin-program-created');
  // edit its rules: the budget grows and only the west is subsidised
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel(/^Budget/).fill('1200000');
  const regions = page.getByRole('group', { name: 'Regions' });
  for (const east of ['Beijing–Tianjin–Hebei', 'Yangtze River Delta', 'Greater Bay Area', 'Chengdu–Chongqing']) await regions.getByLabel(new RegExp(`^${east}`)).uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name }).waitFor();
  assert.match(await page.locator('.gauge').textContent(), /¥1,200,000\.00/);
  assert.doesNotMatch(await page.getByRole('region', { name: 'Rules' }).textContent(), /Greater Bay/);

  await page.getByRole('link', { name: 'Issue vouchers' }).click();
  await page.getByRole('heading', { name: /Issue vouchers/ }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  const bad = path.join(artifacts, 'vouchers-bad.csv');
  writeFileSync(bad, 'institute,face_value_cny,expires_at\nSichuan University AI Lab,100.00,2027-01-01\nNo Such Institute,abc,never\n');
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(bad);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  const errs = page.getByRole('table', { name: 'Errors by row' });
  await errs.waitFor();
  assert.match(await errs.textContent(), /3.*unknown institute “No Such Institute”.*bad amount “abc”.*bad date “never”/s);
  await shot(page, '22-admin-csv-errors');
  const good = path.join(artifacts, 'vouchers-good.csv');
  const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  writeFileSync(good, `institute,face_value_cny,expires_at,not_before\n"Sichuan University AI Lab",10000.00,${day(365)}T00:00:00Z,\nSichuan University AI Lab,2500.50,${day(200)},\nSichuan University AI Lab,1000,${day(300)},${day(1)}\n`);
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(good);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  await page.locator('.notice-ok').filter({ hasText: 'Issued 3 vouchers worth ¥13,500.50' }).waitFor();
  assert.equal(await page.locator('progress').getAttribute('value'), '100');
  await shot(page, '23-admin-csv-issued');

  // and one more voucher with the single form
  await page.getByLabel(/^Face value/).fill('500');
  await page.getByRole('button', { name: 'Issue voucher' }).click();
  await page.locator('.notice-ok').filter({ hasText: 'Issued ¥500.00 to Sichuan University AI Lab' }).waitFor();
  await page.getByRole('link', { name: 'Back to the programme' }).click();
  const table = page.getByRole('table', { name: 'Vouchers' });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 4);
  const first = table.locator('tbody tr').filter({ hasText: '¥10,000.00' });
  await first.getByRole('button', { name: /Revoke/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await first.getByText('Revoked').waitFor();
  await shot(page, '24-admin-revoked');
  await page.reload();
  await page.locator('.gauge').waitFor();
  // budget 1 200 000 − issued 14 000.50 + released 10 000 = 1 195 999.50 available
  assert.match(await page.locator('.available-value').textContent(), /¥1,195,999\.50/);
  noProblems(page);
  await page.context().close();
});

// The server refuses a row the UI cannot check (an expiry after the programme ends): the
// problem's vouchers[i] field is mapped back to the row of the file.
flow('city administrator: a CSV row the server refuses is named by its row number', async (t) => {
  const page = await open();
  await signIn(page, 'admin');
  if (!(await hasRoute(page, '/v1/programs'))) { t.skip('pending: /v1/programs is not on this server'); return; }
  await page.locator('article.program h2 a').first().click();
  await page.getByRole('link', { name: 'Issue vouchers' }).click();
  await page.getByRole('heading', { name: /Issue vouchers/ }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  const late = path.join(artifacts, 'vouchers-late.csv');
  writeFileSync(late, 'institute,face_value_cny,expires_at\nSichuan University AI Lab,100.00,2099-01-01\n');
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(late);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  await page.getByRole('table', { name: 'Errors by row' }).filter({ hasText: /2\s*expires_at: must not be after the programme ends/ }).waitFor();
  await page.getByText('Nothing was issued.').waitFor();
  noProblems(page);
  await page.context().close();
});

flow('auditor: the audit log verifies, and the CSV report totals match the API', async (t) => {
  const page = await open();
  await signIn(page, 'auditor');
  if (!(await hasRoute(page, '/v1/audit/events'))) { t.skip('pending: GET /v1/audit/events is not on this server'); return; }
  await page.locator('table.data tbody tr').first().waitFor();
  const verify = page.locator('.verify, .notice').first();
  await verify.waitFor();
  if (await hasRoute(page, '/v1/audit/verify')) assert.equal(await page.locator('.verify').getAttribute('data-verified'), 'ok');
  await shot(page, '30-auditor-audit');
  await page.getByLabel('Action').fill('session.create');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/action=session\.create/);
  await page.locator('table.data tbody tr').first().waitFor();
  for (const r of await page.locator('table.data tbody tr td:nth-child(4)').allTextContents()) assert.equal(r, 'session.create');

  // anomaly flags: with the server's GET /v1/reports/anomalies the rules need repeated
  // behaviour (e.g. three orders cancelled after redemption), which one demo order does not
  // show, so the page answers with its table or its explained empty state; without the
  // endpoint the UI's own rules flag the single cancelled order.
  await page.getByRole('link', { name: 'Anomalies' }).click();
  if (await hasRoute(page, '/v1/reports/anomalies')) {
    await page.locator('table.data, .empty').first().waitFor();
  } else {
    await page.getByRole('table', { name: 'Anomaly flags' }).getByText('Order cancelled after redemption').first().waitFor();
  }
  await shot(page, '32-auditor-anomalies');

  if (!(await hasRoute(page, '/v1/reports/subsidies'))) {
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByText('Reports are not available on this server yet.').first().waitFor();
    t.skip('pending: GET /v1/reports/subsidies is not on this server (the page shows "not available")');
    return;
  }
  await page.getByRole('link', { name: 'Reports' }).click();
  await page.locator('#csv-download').waitFor();
  await shot(page, '31-auditor-reports');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-download').click()]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
  const header = csv[0].split(',');
  const col = header.findIndex((h) => /subsidy_fen|redeemed_fen|amount_fen/.test(h));
  assert.ok(col >= 0, `a fen column in ${header}`);
  const csvTotal = csv.slice(1).reduce((s, l) => s + BigInt(l.split(',')[col] || 0), 0n);
  const json = await api(page, 'GET', '/v1/reports/subsidies?group_by=month');
  const apiTotal = json.json.items.reduce((s, i) => s + BigInt(i[header[col]] ?? 0), 0n);
  assert.equal(csvTotal, apiTotal);
  noProblems(page);
  await page.context().close();
});

// While GET /v1/reports/subsidies is absent from the server, the reports page is exercised
// against a stub of its documented shape (DESIGN.md §4): charts, totals and the CSV download.
flow('reports page: charts for every grouping, totals, and the CSV download (stubbed while the endpoint is absent)', async (t) => {
  const page = await open();
  await signIn(page, 'auditor');
  if (await hasRoute(page, '/v1/reports/subsidies')) { t.skip('the real endpoint exists: covered by the auditor test'); return; }
  const rows = {
    month: [{ month: '2026-10', subsidy_fen: 1250000, redemptions: 3 }, { month: '2026-11', subsidy_fen: 216000, redemptions: 1 }],
    zone: [{ zone: 'west', subsidy_fen: 1300000 }, { zone: 'east', subsidy_fen: 166000 }],
    region: [{ region: 'ningxia', subsidy_fen: 1000000 }, { region: 'gansu', subsidy_fen: 300000 }, { region: 'cheng-yu', subsidy_fen: 166000 }],
    provider: [{ provider_id: '01a222c6-0000-7000-8000-000000000001', provider_name: 'West Cloud', subsidy_fen: 1300000 }, { provider_id: '01a222c6-0000-7000-8000-000000000002', provider_name: 'East Compute', subsidy_fen: 166000 }],
    institute: [{ institute_id: '01a222c6-0000-7000-8000-000000000003', institute_name: 'Sichuan University AI Lab', subsidy_fen: 1466000 }],
  };
  await page.route(/\/v1\/reports\/subsidies/, (route) => {
    const url = new URL(route.request().url());
    const g = url.searchParams.get('group_by') || 'month';
    const items = rows[g] || [];
    if ((route.request().headers().accept || '').includes('text/csv')) {
      const keys = Object.keys(items[0] || { [g]: '', subsidy_fen: 0 });
      route.fulfill({ status: 200, contentType: 'text/csv', body: `${keys.join(',')}\n${items.map((i) => keys.map((k) => i[k]).join(',')).join('\n')}\n` });
    } else {
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items }) });
    }
  });
  await page.getByRole('link', { name: 'Reports' }).click();
  await page.locator('#csv-download').waitFor();
  await page.locator('.chart-box svg').nth(4).waitFor();
  assert.equal(await page.locator('.chart-box svg[role=img]').count(), 5);
  assert.match(await page.locator('tfoot').textContent(), /Total.*¥14,660\.00/);
  assert.match(await page.locator('.chart-box').nth(1).textContent(), /West.*East/s);
  assert.match(await page.locator('.chart-box').nth(3).textContent(), /West Cloud/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-download').click()]);
  assert.equal(download.suggestedFilename(), 'subsidies-by-month.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^month,subsidy_fen,redemptions\n2026-10,1250000,3\n/);
  await shot(page, '33-auditor-reports-stubbed');
  await page.getByLabel('Group by').selectOption('region');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('table', { name: 'Subsidy by region' }).getByText('Ningxia').waitFor();
  assert.deepEqual(await axe(page), []);
  noProblems(page);
  await page.context().close();
});

flow('provider: create an offer, then pause it', async () => {
  const page = await open();
  await signIn(page, 'provider');
  await page.getByRole('link', { name: 'New offer' }).click();
  await page.getByLabel('Resource class').selectOption('gpu');
  await page.getByLabel('Accelerator').fill('H800');
  await page.getByLabel('FP16 TFLOPS per unit').fill('756');
  await page.getByLabel('Memory per unit (GiB)').fill('80');
  await page.getByLabel('Region').selectOption('gansu');
  await page.getByLabel('Units').fill('32');
  await page.getByLabel('Price per unit-hour').fill('19.99');
  await page.getByLabel('Green power (%)').fill('75');
  await page.getByLabel('PUE').fill('0.5');
  await page.getByRole('button', { name: 'Publish offer' }).click();
  await page.locator('[data-field="pue"] .field-error').filter({ hasText: /./ }).waitFor();
  await shot(page, '40-provider-offer-error');
  await page.getByLabel('PUE').fill('1.15');
  await page.getByRole('button', { name: 'Publish offer' }).click();
  const row = page.locator('table.data tbody tr').filter({ hasText: 'H800' });
  await row.waitFor();
  assert.match(await row.textContent(), /¥19\.99/);
  await shot(page, '41-provider-offers');
  await row.getByRole('button', { name: /Pause/ }).click();
  await page.getByText('Offer paused.').waitFor();
  await page.getByRole('link', { name: 'Paused' }).click();
  await page.locator('table.data tbody tr').filter({ hasText: 'H800' }).getByText('Paused').waitFor();
  await shot(page, '42-provider-paused');
  noProblems(page);
  await page.context().close();
});

flow('/docs renders every operation of openapi.yaml, accessibly', async () => {
  // The list comes from the description the server serves, read with a YAML parser (the one
  // the contract suite installs), not from the viewer.
  const { parse } = await import('../contract/node_modules/yaml/dist/index.js');
  const spec = parse(await (await fetch(`${server.base}/openapi.yaml`)).text());
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const want = Object.entries(spec.paths).flatMap(([p, item]) => methods.filter((m) => item[m])
    .map((m) => `${m.toUpperCase()} ${p} ${item[m].summary}`)).sort();
  const page = await open();
  await page.goto('/docs');
  // Swagger UI parses and draws the whole description first: give it time on a busy machine.
  await page.locator('#operations .opblock').first().waitFor({ timeout: 90000 });
  const got = await page.locator('#operations .opblock').evaluateAll((blocks) => blocks.map((b) => [
    b.querySelector('.opblock-summary-method').textContent,
    b.querySelector('.opblock-summary-path').dataset.path,
    b.querySelector('.opblock-summary-description').textContent].join(' ')));
  assert.deepEqual(got.sort(), want, 'one block per operation, with its method, path and summary');
  // an operation opens from the keyboard and shows its body and every response it documents
  const login = spec.paths['/v1/sessions'].post;
  const op = page.locator(`#operations-${login.tags[0]}-${login.operationId}`);
  await op.locator('.opblock-summary-control').focus();
  await page.keyboard.press('Enter');
  await op.locator('.opblock-body').waitFor();
  await op.getByText('Request body').waitFor();
  const codes = await op.locator('tr.response').evaluateAll((rows) => rows.map((r) => r.dataset.code));
  assert.deepEqual(codes.sort(), Object.keys(login.responses).sort());
  await shot(page, '60-docs', { fullPage: false });
  assert.deepEqual(await axe(page), []);
  noProblems(page);
  await page.context().close();
});

// Every page of every role, in both languages, on a desktop and a phone: axe-core finds no
// serious or critical violation, and each gets a screenshot.
const PAGES = {
  institute: ['vouchers', 'offers', 'match', 'orders', 'redemptions'],
  admin: ['programs', 'programs/new', 'vouchers-city', 'organizations', 'audit', 'reports', 'anomalies'],
  auditor: ['audit', 'reports', 'anomalies', 'programs'],
  provider: ['my-offers', 'my-offers/new', 'offer-orders', 'utilisation'],
};

flow('accessibility: axe-core finds no serious or critical violation on any page', async () => {
  const found = [];
  const signin = await open();
  await signin.goto('/#/signin');
  await signin.locator('form.signin-form').waitFor();
  found.push(...(await axe(signin)).map((v) => `signin: ${v}`));
  await signin.context().close();
  for (const lang of ['en', 'zh']) {
    for (const [who, pages] of Object.entries(PAGES)) {
      for (const viewport of lang === 'en' ? [{ width: 1280, height: 900 }, { width: 390, height: 844 }] : [{ width: 1280, height: 900 }]) {
        const page = await open({ lang, viewport, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
        await signIn(page, who);
        // on a phone, each role's two main pages (the layout is shared by the rest)
        for (const p of viewport.width < 800 ? pages.slice(0, 2) : pages) {
          await page.goto(`/#/${p}`);
          await page.locator('main h1').waitFor();
          await page.locator('main .loading').waitFor({ state: 'detached', timeout: 20000 }).catch(() => {});
          if (p === 'programs') {
            const link = page.locator('article.program h2 a').first();
            if (await link.count()) {
              await link.click();
              await page.locator('.gauge').waitFor();
              await page.locator('main .loading').waitFor({ state: 'detached' }).catch(() => {});
              found.push(...(await axe(page)).map((v) => `${lang} ${who} program detail: ${v}`));
              if (viewport.width > 800) await shot(page, `50-${lang}-${who}-program-detail`);
              await page.goto(`/#/${p}`);
              await page.locator('main .loading').waitFor({ state: 'detached' }).catch(() => {});
            }
          }
          found.push(...(await axe(page)).map((v) => `${lang} ${who} ${p} ${viewport.width}px: ${v}`));
          await shot(page, `50-${lang}-${who}-${p.replace(/\//g, '-')}${viewport.width < 800 ? '-phone' : ''}`);
        }
        noProblems(page);
        await page.context().close();
      }
    }
  }
  assert.deepEqual(found, []);
});

test('the server exits cleanly (status 0, no leaks) when stopped', async () => {
  await browser.close();
  browser = null;
  const rc = await server.stop();
  server = null;
  assert.equal(rc, 0);
});
