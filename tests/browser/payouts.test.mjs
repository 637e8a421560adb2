// Payouts (兑付) and recoveries (追回) in the browser (issue 14), in English and Chinese: a city
// administrator proposes the due subsidy of a programme, a second administrator approves it
// (the first may not: the page says so), the first records the bank transfer; the provider
// sees the order paid in its settlement statement and the payout among those it received;
// the administrator records a recovery, which the recoveries page lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, newPage, signIn, shot, axe, PASSWORD } from './harness.mjs';
import { Client, organisation, programme, voucher, offer, cityAdmin, unique, iso } from './world.mjs';
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

const open = async (lang) => newPage(browser, server.base, { lang, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
const noProblems = (page) => {
  assert.deepEqual(page.problems, [], 'the page logged errors, CSP violations or missing translations');
  assert.deepEqual(page.failedLoads, [], 'the page logged failed loads');
};
const HOUR = 3600e3;

// A completed order of a new institute on a new provider's offer, with 3 000.00 CNY of subsidy
// from a new programme, its usage accepted and its subsidy due now.
async function dueOrder() {
  const inst = await organisation(server.base, 'institute');
  const prov = await organisation(server.base, 'provider');
  const p = await programme(server.base);
  const v = await voucher(server.base, p, inst.org, 1000000);
  const o = await offer(server.base, prov.email);
  const buyer = await Client.signIn(server.base, inst.email);
  const start = Math.floor(Date.now() / HOUR) * HOUR;
  const order = await buyer.post('/v1/orders', {
    offer_id: o.id, units: 10, start: iso(start), end: iso(start + 40 * HOUR),
    vouchers: [{ voucher_id: v.id, amount_fen: 300000 }],
  });
  const seller = await Client.signIn(server.base, prov.email);
  await seller.post(`/v1/orders/${order.id}/complete`, undefined, 200);
  // all 400 reserved unit-hours reported and accepted: the bill is unchanged, the subsidy due
  await seller.post(`/v1/orders/${order.id}/usage`, {
    unit_hours: 400, availability: 1,
    evidence: [{ name: 'meter.csv', sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }],
  });
  await buyer.post(`/v1/orders/${order.id}/usage/accept`, undefined, 200);
  return { p, order, prov };
}

// A second administrator of Chengdu: its email.
async function secondAdmin() {
  const admin = await cityAdmin(server.base);
  const email = `admin2-${process.pid}-${Date.now() % 1e6}-${Math.floor(Math.random() * 1e6)}@test.suanli.demo`;
  await admin.post('/v1/users', { email, password: PASSWORD, role: 'city_admin', organization_id: admin.me.organization_id });
  return email;
}

for (const lang of ['en', 'zh']) {
  const L = lang === 'zh' ? zh : en;
  const S = (key) => L[`status.${key}`];

  test(`${lang}: two administrators propose, approve and pay a payout; the provider sees it; a recovery is recorded`, async () => {
    const { p, order, prov } = await dueOrder();
    const approver = await secondAdmin();
    const page = await open(lang);
    await signIn(page, 'admin');
    await page.goto('/#/payouts');
    await page.getByRole('heading', { level: 1, name: L['payout.title'] }).waitFor();
    await page.getByRole('combobox', { name: L['payout.program'] }).selectOption({ label: p.name });
    await page.getByRole('button', { name: L['payout.propose'] }).click();
    const table = page.getByRole('table', { name: L['payout.caption'].replace('{state}', S('proposed')) });
    const row = table.locator('tbody tr').filter({ hasText: prov.org.name });
    await row.waitFor();
    assert.match(await row.textContent(), /¥3,000\.00/);
    assert.match(await row.textContent(), new RegExp(L['payout.own'].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await shot(page, `70-${lang}-admin-payout-proposed`);
    assert.deepEqual(await axe(page), [], 'axe-core: payouts');
    noProblems(page);
    await page.context().close();

    // the second administrator approves
    const page2 = await open(lang);
    await signIn(page2, approver);
    await page2.goto('/#/payouts?state=proposed');
    const row2 = page2.getByRole('table', { name: L['payout.caption'].replace('{state}', S('proposed')) })
      .locator('tbody tr').filter({ hasText: prov.org.name });
    await row2.getByRole('button', { name: new RegExp(`^${L['payout.approve']} ${prov.org.name}`) }).click();
    const approved = page2.getByRole('table', { name: L['payout.caption'].replace('{state}', S('proposed')) })
      .locator('tbody tr').filter({ hasText: prov.org.name });
    await approved.waitFor({ state: 'detached' });
    noProblems(page2);
    await page2.context().close();

    // the first records the transfer
    const page3 = await open(lang);
    await signIn(page3, 'admin');
    await page3.goto('/#/payouts?state=approved');
    const row3 = page3.getByRole('table', { name: L['payout.caption'].replace('{state}', S('approved')) })
      .locator('tbody tr').filter({ hasText: prov.org.name });
    await row3.getByRole('button', { name: new RegExp(`^${L['payout.mark_paid']} ${prov.org.name}`) }).click();
    const reference = unique('CNAPS').replace(/ /g, '-');
    await page3.getByRole('dialog').getByRole('textbox', { name: new RegExp(`^${L['payout.reference']}`) }).fill(reference);
    await page3.getByRole('dialog').getByRole('button', { name: L['payout.mark_paid'] }).click();
    await page3.getByRole('table', { name: L['payout.caption'].replace('{state}', S('approved')) })
      .locator('tbody tr').filter({ hasText: prov.org.name }).waitFor({ state: 'detached' });
    await page3.goto('/#/payouts?state=paid');
    await page3.getByRole('table', { name: L['payout.caption'].replace('{state}', S('paid')) })
      .locator('tbody tr').filter({ hasText: reference }).waitFor();

    // a recovery of 100.00 CNY on the order
    await page3.goto('/#/recoveries');
    await page3.getByRole('heading', { level: 1, name: L['recovery.title'] }).waitFor();
    await page3.getByRole('textbox', { name: new RegExp(`^${L['recovery.order']}`) }).fill(order.id);
    await page3.getByRole('textbox', { name: new RegExp(`^${L['recovery.amount'].replace(/[()（）]/g, '.')}`) }).fill('100');
    // the reason is this run's own: the English run's recovery is on the same list, and a
    // shared reason would find that row (or both) rather than the one just recorded
    const reason = unique('Two GPU hours not delivered');
    await page3.getByRole('textbox', { name: new RegExp(`^${L['recovery.reason']}`) }).fill(reason);
    await page3.getByRole('button', { name: L['recovery.submit'] }).click();
    await page3.getByRole('table', { name: L['recovery.caption'] }).locator('tbody tr')
      .filter({ hasText: reason }).waitFor();
    await shot(page3, `71-${lang}-admin-recoveries`);
    assert.deepEqual(await axe(page3), [], 'axe-core: recoveries');
    noProblems(page3);
    await page3.context().close();

    // the provider: its statement and the payout it received
    const page4 = await open(lang);
    await signIn(page4, prov.email);
    await page4.getByRole('link', { name: L['nav.settlements'] }).click();
    await page4.getByRole('heading', { level: 1, name: L['settle.title'] }).waitFor();
    const line = page4.getByRole('table', { name: L['settle.caption'] }).locator(`tbody tr[data-key="${order.id}"]`);
    await line.waitFor();
    assert.match(await line.textContent(), new RegExp(S('paid')));
    await shot(page4, `72-${lang}-provider-statement`);
    assert.deepEqual(await axe(page4), [], 'axe-core: settlement statement');
    await page4.getByRole('link', { name: L['nav.payouts'] }).click();
    await page4.getByRole('heading', { level: 1, name: L['payout.title_received'] }).waitFor();
    await page4.getByRole('table').locator('tbody tr').filter({ hasText: reference }).waitFor();
    assert.deepEqual(await axe(page4), [], 'axe-core: payouts received');
    noProblems(page4);
    await page4.context().close();

    const admin = await cityAdmin(server.base);
    const paid = await admin.get(`/v1/payouts?state=paid&payee_id=${prov.org.id}`);
    assert.equal(paid.items.length, 1);
    assert.equal(paid.items[0].total_fen, 300000);
    assert.equal(paid.items[0].transfer_reference, reference);
    const recs = await admin.get(`/v1/recoveries?order_id=${order.id}`);
    assert.deepEqual(recs.items.map((r) => [r.amount_fen, r.debt_fen, r.reason]), [[10000, 10000, reason]]);
  });
}
