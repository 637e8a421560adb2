// The performance (绩效) page in a real browser against a real suanlid, in English and Chinese:
// a programme's order on a western GPU offer is delivered (usage reported and accepted through
// the API); the auditor opens the programme's performance page and reads the figures the report
// computes (worked out by hand below), drawn in the charts (figures with captions and text
// alternatives) and in the monthly table; the CSV link downloads the same figures; the
// settlement statement of the order's provider (GET /v1/settlements, linked from the page)
// shows the order due for payout, with its CSV;
// axe-core finds nothing serious.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, startBrowser, newPage, signIn, shot, axe } from './harness.mjs';
import { Client, organisation, programme, voucher, offer, iso } from './world.mjs';
import { en, zh } from '../../web/js/strings.js';

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

const HOUR = 3600e3;

// A programme with one delivered order: 2 H100 units (989 TFLOPS, ningxia: west, PUE 1.2,
// green 0.6, 1500 fen per unit-hour) × 3 h = 9 000 fen, 4 500 paid by voucher; 4 unit-hours
// delivered and accepted: re-billed to 6 000 fen, subsidy 3 000. So 4 × 989 / 24 000 =
// 0.164833 PFLOP-days, all in the west, green 60 %, 3 000 fen / 0.164833… = 18 200 fen
// (¥182.00) per PFLOP-day.
async function deliveredProgramme() {
  const prov = await organisation(server.base, 'provider');
  const inst = await organisation(server.base, 'institute');
  const o = await offer(server.base, prov.email);
  const prg = await programme(server.base);
  const v = await voucher(server.base, prg, inst.org, 100000);
  const buyer = await Client.signIn(server.base, inst.email);
  const seller = await Client.signIn(server.base, prov.email);
  const start = Math.floor(Date.now() / HOUR) * HOUR; // started, so that it can be completed
  const order = await buyer.post('/v1/orders', {
    offer_id: o.id, units: 2, start: iso(start), end: iso(start + 3 * HOUR),
    vouchers: [{ voucher_id: v.id, amount_fen: 4500 }],
  });
  await seller.post(`/v1/orders/${order.id}/complete`, undefined, 200);
  const usage = await seller.call('POST', `/v1/orders/${order.id}/usage`, {
    unit_hours: 4, availability: 0.99, evidence: [{ name: 'meter.csv', sha256: 'a'.repeat(64) }],
  });
  assert.ok(usage.status === 200 || usage.status === 201, JSON.stringify(usage.json));
  await buyer.post(`/v1/orders/${order.id}/usage/accept`, undefined, 200);
  return { prg, prov, order };
}

for (const lang of ['en', 'zh']) {
  const L = lang === 'zh' ? zh : en;

  test(`${lang}: the auditor reads a programme's performance in figures, charts, the table and the CSV`, async () => {
    const { prg, prov, order } = await deliveredProgramme();
    const page = await newPage(browser, server.base, { lang, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
    await signIn(page, 'auditor');
    await page.getByRole('link', { name: L['nav.performance'] }).click();
    await page.getByRole('heading', { level: 1, name: L['perf.title'] }).waitFor();
    await page.getByLabel(L['perf.programme']).selectOption(prg.id);
    await page.getByRole('button', { name: L['reports.show'] }).click();
    await page.waitForFunction((id) => location.hash.includes(id), prg.id);
    const figure = (k) => page.locator(`#perf-figures dd[data-measure="${k}"]`);
    await page.waitForFunction(() => document.querySelector('#perf-figures dd[data-measure="pflop_days"]')?.textContent === '0.165');
    assert.equal(await figure('gpu_unit_hours').textContent(), '4');
    assert.equal(await figure('west_share').textContent(), '100 %');
    assert.equal(await figure('green_share').textContent(), '60 %');
    assert.equal(await figure('subsidy_per_pflop_day_fen').textContent(), '¥182.00');
    assert.equal(await figure('institutes_served').textContent(), '1');

    // the charts: figures with a caption, and an image whose text alternative has the numbers
    const months = page.locator('figure#perf-chart-months');
    assert.equal(await months.locator('figcaption').textContent(), L['perf.chart.months']);
    assert.match(await months.locator('svg').getAttribute('aria-label'), /0\.165/);
    assert.equal(await months.locator('rect.c-bar').count(), 1);
    const zones = page.locator('figure#perf-chart-zones svg');
    assert.match(await zones.getAttribute('aria-label'), new RegExp(`${L['zone.west']} 0\\.165; ${L['zone.east']} 0\\b`));
    assert.match(await page.locator('figure#perf-chart-subsidy svg').getAttribute('aria-label'), /¥182\.00/);

    // the table the charts are drawn from: one month and the total
    const table = page.getByRole('table', { name: L['perf.table'] });
    const total = table.locator('tbody tr[data-key="total"]');
    assert.match(await total.textContent(), /0\.165/);
    assert.match(await total.textContent(), /¥30\.00/); // the subsidy
    assert.equal(await table.locator('tbody tr').count(), 2);

    // the CSV link: the same figures, exactly
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#perf-csv').click()]);
    const csv = readFileSync(await download.path(), 'utf8').split('\r\n');
    assert.equal(download.suggestedFilename(), 'suanli-performance.csv');
    const head = csv[0].split(',');
    const row = Object.fromEntries(csv[2].split(',').map((c, i) => [head[i], c]));
    assert.equal(row.month, 'total');
    assert.equal(row.pflop_days, '0.164833');
    assert.equal(row.west_share, '1.0000');
    assert.equal(row.green_share, '0.6000');
    assert.equal(row.subsidy_fen, '3000');
    assert.equal(row.subsidy_per_pflop_day_fen, '18200');

    assert.deepEqual(await axe(page), [], 'axe-core: performance page');
    await shot(page, `95-performance-${lang}`);

    // the settlement statement (the link under the table), of the order's provider: re-billed,
    // due for payout
    await page.getByRole('link', { name: L['perf.settlements'] }).click();
    await page.getByRole('heading', { level: 1, name: L['settle.title'] }).waitFor();
    await page.getByLabel(L['settle.provider']).selectOption(prov.org.id);
    await page.getByRole('button', { name: L['settle.show'] }).click();
    const line = page.locator(`table tbody tr[data-key="${order.id}"]`);
    await line.waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 1);
    const text = await line.textContent();
    assert.match(text, /¥60\.00/); // gross after re-billing on 4 of 6 unit-hours
    assert.match(text, /¥30\.00/); // the subsidy, still receivable
    assert.ok(text.includes(L['status.due']));
    const [statement] = await Promise.all([page.waitForEvent('download'), page.locator('#settlement-csv').click()]);
    const rows = readFileSync(await statement.path(), 'utf8').split('\r\n').filter(Boolean);
    assert.equal(rows.length, 2);
    assert.ok(rows[1].startsWith(order.id));
    assert.deepEqual(await axe(page), [], 'axe-core: settlement statements');
    await shot(page, `96-statements-${lang}`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
}
