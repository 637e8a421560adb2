// The web UI in a real browser against a real suanlid and PostgreSQL: every role's main task
// end to end, an axe-core scan of every page, keyboard use, both languages, and screenshots of
// each page in tests/artifacts/browser/ for a reviewer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, startBrowser, newPage, signIn, shot, axe, api, artifacts, root,
} from './harness.mjs';
import {
  Client, organisation, programme, voucher, offer, acceleratorName, unique, iso,
} from './world.mjs';

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

// The page logged no error, CSP violation or missing translation, and every failed load
// (a 4xx the browser reports in its console) is one the test provoked on purpose:
// `expected` lists them as [status, path pattern].
function noProblems(page, expected = []) {
  assert.deepEqual(page.problems, [], 'the page logged errors, CSP violations or missing translations');
  const fits = ([s, re], { status, url }) => s === status && re.test(new URL(url).pathname);
  const unexpected = page.failedLoads.filter((f) => !expected.some((e) => fits(e, f)));
  assert.deepEqual(unexpected, [], 'the page logged failed loads that the test did not provoke');
  const missing = expected.filter((e) => !page.failedLoads.some((f) => fits(e, f)));
  assert.deepEqual(missing.map(([s, re]) => `${s} ${re}`), [], 'a refusal the test provoked did not happen');
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
    institute: ['My vouchers', 'Offers', 'Match', 'My orders', 'Redemptions', 'Programmes open to me', 'My applications', 'Payouts'],
    admin: ['Offers', 'Programmes', 'Applications', 'Vouchers', 'Institutes & providers', 'Audit log', 'Reports', 'Anomalies', 'Performance', 'Settlement', 'Payouts', 'Recoveries'],
    auditor: ['Offers', 'Programmes', 'Applications', 'Vouchers', 'Institutes & providers', 'Audit log', 'Reports', 'Anomalies', 'Performance', 'Settlement', 'Payouts', 'Recoveries'],
    provider: ['My offers', 'Orders', 'Utilisation', 'Settlement', 'Payouts'],
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
  noProblems(page, [[401, /^\/v1\/sessions$/]]);
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

// The institute's world: its own institute with one voucher of its own programme, and a
// provider of its own with three offers of an accelerator no other test uses.
async function instituteWorld(base, accel) {
  const inst = await organisation(base, 'institute');
  const prov = await organisation(base, 'provider');
  const prg = await programme(base, { max_subsidy_bp: 5000 });
  const v = await voucher(base, prg, inst.org, 50000000);
  await offer(base, prov.email, { accelerator: accel, region: 'ningxia', price_fen_per_unit_hour: 1500 });
  await offer(base, prov.email, { accelerator: accel, region: 'ningxia', price_fen_per_unit_hour: 1200, units: 12 });
  await offer(base, prov.email, { accelerator: accel, region: 'gansu', price_fen_per_unit_hour: 900 });
  return { inst, prov, prg, voucher: v };
}

flow('institute: search, match, reserve with a voucher, see the net cost, cancel, balance restored', async () => {
  const accel = acceleratorName('H100');
  const w = await instituteWorld(server.base, accel);
  const page = await open();
  await signIn(page, w.inst.email);
  const cards = page.locator('article.voucher');
  await cards.first().waitFor();
  assert.equal(await cards.count(), 1, 'the institute holds exactly its one voucher');
  const card = page.locator(`article.voucher[data-id="${w.voucher.id}"]`);
  const balance0 = fenOf(await card.locator('.balance-value').textContent());
  assert.equal(balance0, 50000000n);
  assert.match(await card.textContent(), new RegExp(w.prg.name));
  await card.getByRole('button', { name: 'Show token and QR code' }).click();
  await card.locator('svg.qr').waitFor();
  assert.equal(await card.locator('textarea.token').inputValue(), w.voucher.token);
  await shot(page, '10-institute-vouchers');

  // search with filters and a sort: the two Ningxia offers, cheapest first; Gansu left out
  await page.getByRole('link', { name: 'Offers' }).click();
  await page.getByLabel('Resource class').selectOption('gpu');
  await page.getByRole('textbox', { name: 'Accelerator' }).fill(accel);
  await page.getByRole('group', { name: 'Region' }).getByLabel('Ningxia').check();
  await page.getByLabel('Sort by').selectOption('price');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/region=ningxia/);
  const results = page.getByRole('table', { name: 'Matching offers, page 1' });
  const rows = results.locator('tbody tr');
  await rows.first().waitFor();
  const texts = await rows.allTextContents();
  assert.equal(texts.length, 2, `two Ningxia offers of ${accel}: ${texts}`);
  assert.match(texts[0], /Ningxia.*¥12\.00/s);
  assert.match(texts[1], /Ningxia.*¥15\.00/s);
  await shot(page, '11-institute-offers');
  // a bad filter is explained next to it
  await page.getByLabel('Maximum PUE').fill('9');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('[data-field="max_pue"] .field-error').filter({ hasText: /./ }).waitFor();

  // match
  await page.getByRole('link', { name: 'Match' }).click();
  await page.getByRole('textbox', { name: 'Accelerator' }).fill(accel);
  await page.getByLabel(/^Units/).fill('8');
  await page.getByRole('group', { name: 'Regions' }).getByLabel('Ningxia').check();
  await page.getByRole('button', { name: 'Find plans' }).click();
  const plan = page.locator('li.plan[data-rank="1"]');
  await plan.waitFor();
  assert.match(await plan.locator('details.reasons').textContent(), /Rank 1 of \d+ by net cost.*Net cost ¥[\d,]+\.\d\d = gross ¥/);
  const subsidyPlanned = fenOf(await plan.locator('dd.subsidy').textContent());
  assert.ok(subsidyPlanned > 0n, 'the plan is priced with the voucher applied');
  await shot(page, '12-institute-match');

  // reserve the plan with the voucher: gross, subsidy and net are shown before confirming
  await plan.getByRole('button', { name: /Reserve plan 1\b/ }).click();
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
  // the plan's refusal names legs[0].units: the server's words land next to the units field
  assert.match(await page.locator('[data-field="units"] .field-error').textContent(), /has \d+ free units .* 1000 requested/);
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
  await page.getByRole('navigation').getByRole('link', { name: 'My vouchers' }).click();
  await card.locator('.balance-value').waitFor();
  assert.equal(fenOf(await card.locator('.balance-value').textContent()), balance0 - subsidy);

  // cancel: the refund is shown, and the balance comes back
  await page.getByRole('link', { name: 'My orders' }).click();
  const orders = page.locator('table.data tbody tr');
  await orders.first().waitFor();
  assert.equal(await orders.count(), 1, 'the institute has exactly the order it made');
  const row = orders;
  assert.match(await row.textContent(), /Reserved/);
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
  await card.locator('.balance-value').waitFor();
  assert.equal(fenOf(await card.locator('.balance-value').textContent()), balance0, 'balance restored');

  // two redemptions of the order: the one made and its reversal
  await page.getByRole('link', { name: 'Redemptions' }).click();
  await page.getByRole('heading', { level: 1, name: 'My redemptions' }).waitFor();
  await page.locator('table.data tbody tr').first().waitFor();
  await shot(page, '18-institute-redemptions');
  noProblems(page, [[400, /^\/v1\/offers$/], [409, /^\/v1\/plans$/]]);
  await page.context().close();
});

flow('city administrator: create a programme, issue vouchers from a CSV upload, revoke one', async () => {
  const { org: inst } = await organisation(server.base, 'institute');
  const page = await open();
  await signIn(page, 'admin');
  await page.getByRole('heading', { level: 1, name: 'Subsidy programmes' }).waitFor();
  await shot(page, '20-admin-programs');
  await page.getByRole('link', { name: 'New programme' }).click();
  await page.getByRole('heading', { level: 1, name: 'New programme' }).waitFor();
  const name = unique('Browser programme');
  const budget = page.getByRole('textbox', { name: /^Budget/ });
  await page.getByRole('textbox', { name: 'Name' }).fill(name);
  await budget.fill('abc');
  await page.getByRole('button', { name: 'Create programme' }).click();
  await page.locator('[data-field="budget_fen"] .field-error').filter({ hasText: 'Enter an amount' }).waitFor();
  await budget.fill('1,000,000');
  await page.getByRole('spinbutton', { name: /Share of an order/ }).fill('40');
  await page.getByRole('button', { name: 'Create programme' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  const gauge = page.getByRole('figure', { name: 'Budget gauge' });
  assert.match(await gauge.textContent(), /¥1,000,000\.00/);
  await shot(page, '21-admin-program-created');
  // edit its rules: the budget grows and only the west is subsidised
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.getByRole('button', { name: 'Save' }).waitFor();
  await budget.fill('1200000');
  const regions = page.getByRole('group', { name: 'Regions' });
  for (const east of ['Beijing–Tianjin–Hebei', 'Yangtze River Delta', 'Greater Bay Area', 'Chengdu–Chongqing']) await regions.getByLabel(new RegExp(`^${east}`)).uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await gauge.filter({ hasText: /¥1,200,000\.00/ }).waitFor();
  assert.doesNotMatch(await page.getByRole('region', { name: 'Rules' }).textContent(), /Greater Bay/);

  await page.getByRole('link', { name: 'Issue vouchers' }).click();
  await page.getByRole('heading', { level: 1, name: `Issue vouchers — ${name}` }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  const bad = path.join(artifacts, 'vouchers-bad.csv');
  writeFileSync(bad, `institute,face_value_cny,expires_at\n${inst.name},100.00,2027-01-01\nNo Such Institute,abc,never\n`);
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(bad);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  const errs = page.getByRole('table', { name: 'Errors by row' });
  await errs.waitFor();
  assert.match(await errs.textContent(), /3.*unknown institute “No Such Institute”.*bad amount “abc”.*bad date “never”/s);
  await shot(page, '22-admin-csv-errors');
  const good = path.join(artifacts, 'vouchers-good.csv');
  const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  writeFileSync(good, `institute,face_value_cny,expires_at,not_before\n"${inst.name}",10000.00,${day(365)}T00:00:00Z,\n${inst.name},2500.50,${day(200)},\n${inst.name},1000,${day(300)},${day(1)}\n`);
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(good);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  await page.locator('.notice-ok').filter({ hasText: 'Issued 3 vouchers worth ¥13,500.50' }).waitFor();
  assert.equal(await page.getByRole('progressbar').getAttribute('value'), '100');
  await shot(page, '23-admin-csv-issued');

  // and one more voucher with the single form
  await page.getByRole('combobox', { name: 'Institute' }).selectOption({ label: inst.name });
  await page.getByRole('textbox', { name: /^Face value/ }).fill('500');
  await page.getByRole('button', { name: 'Issue voucher' }).click();
  await page.locator('.notice-ok').filter({ hasText: `Issued ¥500.00 to ${inst.name}` }).waitFor();
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
  await page.getByRole('heading', { level: 1, name }).waitFor();
  // budget 1 200 000 − issued 14 000.50 + released 10 000 = 1 195 999.50 available
  assert.match(await gauge.locator('.available-value').textContent(), /¥1,195,999\.50/);
  noProblems(page);
  await page.context().close();
});

// The server refuses a row the UI cannot check (an expiry after the programme ends): the
// problem's vouchers[i] field is mapped back to the row of the file.
flow('city administrator: a CSV row the server refuses is named by its row number', async () => {
  const { org: inst } = await organisation(server.base, 'institute');
  const prg = await programme(server.base);
  const page = await open();
  await signIn(page, 'admin');
  await page.goto(`/#/programs/${prg.id}/issue`);
  await page.getByRole('heading', { level: 1, name: `Issue vouchers — ${prg.name}` }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  const late = path.join(artifacts, 'vouchers-late.csv');
  writeFileSync(late, `institute,face_value_cny,expires_at\n${inst.name},100.00,2099-01-01\n`);
  await page.getByLabel('CSV file', { exact: true }).setInputFiles(late);
  await page.getByRole('button', { name: 'Upload and issue' }).click();
  await page.getByRole('table', { name: 'Errors by row' }).filter({ hasText: /2\s*expires_at: must not be after the programme ends/ }).waitFor();
  await page.getByText('Nothing was issued.').waitFor();
  noProblems(page, [[400, /^\/v1\/programs\/[^/]+\/vouchers$/]]);
  await page.context().close();
});

// A redemption of its own: an institute, a provider's offer, a programme and a voucher, and an
// order paid partly by the voucher (subsidy 50 % of 4 unit-hours at ¥15.00 = ¥30.00).
async function redeemedOrder(base) {
  const inst = await organisation(base, 'institute');
  const prov = await organisation(base, 'provider');
  const prg = await programme(base);
  const v = await voucher(base, prg, inst.org, 1000000);
  const o = await offer(base, prov.email, { accelerator: acceleratorName('H20'), price_fen_per_unit_hour: 1500 });
  const lab = await Client.signIn(base, inst.email);
  const start = Date.parse(o.available_from) + 24 * 3600e3;
  const order = await lab.post('/v1/orders', {
    offer_id: o.id, units: 2, start: iso(start), end: iso(start + 2 * 3600e3), vouchers: [{ voucher_id: v.id, amount_fen: 3000 }],
  });
  assert.equal(order.subsidy_fen, 3000);
  return { inst, prov, prg, voucher: v, offer: o, order };
}

flow('auditor: the audit log verifies, and the CSV report totals match the API', async () => {
  const { order } = await redeemedOrder(server.base);
  const page = await open();
  await signIn(page, 'auditor');
  await page.locator('table.data tbody tr').first().waitFor();
  const verify = page.locator('.verify');
  await verify.waitFor();
  assert.equal(await verify.getAttribute('data-verified'), 'ok');
  await shot(page, '30-auditor-audit');
  await page.getByLabel('Action').fill('session.create');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/action=session\.create/);
  await page.locator('table.data tbody tr').first().waitFor();
  for (const r of await page.locator('table.data tbody tr td:nth-child(4)').allTextContents()) assert.equal(r, 'session.create');

  // anomaly flags need repeated behaviour (e.g. three orders cancelled after redemption): the
  // page shows its table or its explained empty state
  await page.getByRole('link', { name: 'Anomalies' }).click();
  await page.getByRole('heading', { level: 1, name: 'Anomaly flags' }).waitFor();
  await page.locator('table.data, .empty').first().waitFor();
  await shot(page, '32-auditor-anomalies');

  await page.getByRole('link', { name: 'Reports' }).click();
  await page.locator('#csv-download').waitFor();
  await shot(page, '31-auditor-reports');
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-download').click()]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
  const header = csv[0].split(',');
  const col = header.indexOf('subsidy_fen');
  assert.ok(col >= 0, `a subsidy_fen column in ${header}`);
  const csvTotal = csv.slice(1).reduce((s, l) => s + BigInt(l.split(',')[col] || 0), 0n);
  const json = await api(page, 'GET', '/v1/reports/subsidies?group_by=month');
  const apiTotal = json.json.items.reduce((s, i) => s + BigInt(i.subsidy_fen ?? 0), 0n);
  assert.equal(csvTotal, apiTotal);
  assert.ok(apiTotal >= BigInt(order.subsidy_fen), 'the report counts the subsidy this test paid');
  noProblems(page);
  await page.context().close();
});

flow('reports page: charts for every grouping, totals that match the API, and the CSV of a grouping', async () => {
  const w = await redeemedOrder(server.base);
  const page = await open();
  await signIn(page, 'auditor');
  await page.getByRole('link', { name: 'Reports' }).click();
  await page.locator('#csv-download').waitFor();
  await page.locator('.chart-box svg[role=img]').nth(4).waitFor();
  assert.equal(await page.locator('.chart-box svg[role=img]').count(), 5);
  const byMonth = (await api(page, 'GET', '/v1/reports/subsidies?group_by=month')).json.items;
  const total = byMonth.reduce((s, i) => s + BigInt(i.subsidy_fen), 0n);
  const yuan = (f) => `¥${(f / 100n).toLocaleString('en-US')}.${String(f % 100n).padStart(2, '0')}`;
  assert.match(await page.locator('tfoot').textContent(), new RegExp(`Total.*${yuan(total).replace(/[.$]/g, '\\$&')}`));
  await shot(page, '33-auditor-reports');
  await page.getByLabel('Group by').selectOption('institute');
  await page.getByRole('button', { name: 'Show' }).click();
  const byInstitute = page.getByRole('table', { name: 'Subsidy by institute' });
  await byInstitute.getByText(w.inst.org.name).waitFor();
  assert.match(await byInstitute.locator('tr').filter({ hasText: w.inst.org.name }).textContent(), /¥30\.00/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-download').click()]);
  assert.equal(download.suggestedFilename(), 'subsidies-by-institute.csv');
  assert.match(readFileSync(await download.path(), 'utf8'), new RegExp(`${w.inst.org.id}.*,3000\\b`));
  assert.deepEqual(await axe(page), []);
  noProblems(page);
  await page.context().close();
});

flow('provider: create an offer, then pause it', async () => {
  const prov = await organisation(server.base, 'provider');
  const accel = acceleratorName('H800');
  const page = await open();
  await signIn(page, prov.email);
  await page.getByRole('link', { name: 'New offer' }).click();
  await page.getByLabel('Resource class').selectOption('gpu');
  await page.getByLabel('Accelerator').fill(accel);
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
  const rows = page.locator('table.data tbody tr');
  await rows.filter({ hasText: accel }).waitFor();
  assert.equal(await rows.count(), 1, 'the new provider has exactly its one offer');
  assert.match(await rows.textContent(), /¥19\.99/);
  await shot(page, '41-provider-offers');
  await rows.getByRole('button', { name: /Pause/ }).click();
  await page.getByText('Offer paused.').waitFor();
  await page.getByRole('link', { name: 'Paused' }).click();
  await page.locator('table.data tbody tr').filter({ hasText: accel }).getByText('Paused').waitFor();
  await shot(page, '42-provider-paused');
  noProblems(page, [[400, /^\/v1\/offers$/]]);
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
  admin: ['programs', 'programs/new', 'vouchers-city', 'organizations', 'audit', 'reports', 'anomalies', 'payouts', 'recoveries', 'settlements', 'performance'],
  auditor: ['audit', 'reports', 'anomalies', 'programs', 'settlements', 'performance'],
  provider: ['my-offers', 'my-offers/new', 'offer-orders', 'utilisation', 'settlements', 'payouts'],
};

flow('accessibility: axe-core finds no serious or critical violation on any page', async () => {
  const found = [];
  const prg = await programme(server.base);
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
          await page.locator('main .loading').waitFor({ state: 'detached', timeout: 20000 });
          if (p === 'programs') {
            await page.getByRole('link', { name: prg.name }).click();
            await page.getByRole('heading', { level: 1, name: prg.name }).waitFor();
            await page.locator('main .loading').waitFor({ state: 'detached' });
            found.push(...(await axe(page)).map((v) => `${lang} ${who} program detail: ${v}`));
            if (viewport.width > 800) await shot(page, `50-${lang}-${who}-program-detail`);
            await page.goto(`/#/${p}`);
            await page.locator('main h1').waitFor();
            await page.locator('main .loading').waitFor({ state: 'detached' });
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
