// Delivery and usage (issue 14) in a real browser against a real suanlid: the provider reports
// the usage of a completed order from its orders list, the institute disputes it, the provider
// reports again, the institute accepts (the order is re-billed and the unused subsidy goes
// back to its voucher) and records its payment of the net amount; the pages pass axe-core and
// read in Chinese too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, newPage, signIn, shot, axe } from './harness.mjs';
import { Client, organisation, programme, voucher, offer, iso } from './world.mjs';

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
const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

// A completed order of 2 units for 2 hours yesterday (gross ¥60.00), ¥30.00 of it paid by a
// voucher: {order, voucherId, prov, inst}.
async function completedOrder() {
  const prov = await organisation(server.base, 'provider');
  const inst = await organisation(server.base, 'institute');
  const o = await offer(server.base, prov.email, { available_from: iso(Date.now() - 72 * HOUR) });
  const prg = await programme(server.base);
  const v = await voucher(server.base, prg, inst.org, 10000);
  const buyer = await Client.signIn(server.base, inst.email);
  const start = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;
  const order = await buyer.post('/v1/orders', { offer_id: o.id, units: 2, start: iso(start), end: iso(start + 2 * HOUR) });
  await buyer.post('/v1/redemptions', { voucher_id: v.id, order_id: order.id, amount_fen: 3000 });
  const seller = await Client.signIn(server.base, prov.email);
  await seller.call('POST', `/v1/orders/${order.id}/complete`, undefined, 200);
  return { order, voucherId: v.id, prov, inst, buyer };
}

async function report(page, unitHours) {
  await page.getByLabel(/^Unit-hours/).fill(String(unitHours));
  await page.getByLabel(/^Evidence file/).fill('meter-export.csv');
  await page.getByLabel(/^Its SHA-256/).fill(SHA);
  await page.getByRole('button', { name: 'Report usage' }).click();
  await page.locator('table .badge-reported').waitFor();
}

test('usage is reported, disputed, reported again, accepted and paid', async () => {
  const { order, voucherId, prov, inst, buyer } = await completedOrder();

  // the provider: from its orders list to the order's usage page
  const pp = await newPage(browser, server.base);
  await signIn(pp, prov.email);
  await pp.goto('/#/offer-orders?status=completed');
  await pp.getByRole('link', { name: /^Usage not reported …/ }).click();
  await pp.getByRole('heading', { name: 'Report delivered usage' }).waitFor();
  await report(pp, 3);
  assert.deepEqual(await axe(pp), []);
  await shot(pp, '95-usage-reported');

  // the institute disputes it with a reason
  const ip = await newPage(browser, server.base);
  await signIn(ip, inst.email);
  await ip.goto('/#/orders?status=completed');
  await ip.getByRole('link', { name: /^Usage reported …/ }).click();
  await ip.getByRole('heading', { name: 'A usage report awaits your decision' }).waitFor();
  await ip.getByRole('button', { name: 'Dispute' }).click();
  await ip.getByLabel(/^Reason for the dispute/).fill('The job logs show 2 unit-hours.');
  await ip.locator('dialog').getByRole('button', { name: 'Dispute' }).click();
  await ip.locator('table .badge-disputed').waitFor();

  // the provider reports again; the disputed report is superseded
  await pp.reload();
  await pp.getByRole('heading', { name: 'Report delivered usage' }).waitFor();
  await report(pp, 2);
  await pp.locator('table .badge-superseded').waitFor();

  // the institute accepts: billed on 2 of the 4 unit-hours, half the subsidy back
  await ip.reload();
  await ip.getByRole('button', { name: 'Accept' }).click();
  await ip.locator('dialog').getByRole('button', { name: 'Accept' }).click();
  await ip.locator('table .badge-accepted').waitFor();
  const o = await buyer.get(`/v1/orders/${order.id}`);
  assert.equal(o.gross_fen, 3000);
  assert.equal(o.subsidy_fen, 1500);
  assert.equal(o.net_fen, 1500);
  assert.equal((await buyer.get(`/v1/vouchers/${voucherId}`)).balance_fen, 8500);

  // and records its payment of the net amount
  await ip.getByLabel(/^Transfer reference/).fill('ICBC-0001');
  await ip.getByRole('button', { name: 'Record payment' }).click();
  await ip.getByRole('cell', { name: 'ICBC-0001' }).waitFor();
  assert.equal((await buyer.get(`/v1/orders/${order.id}`)).buyer_paid_fen, 1500);
  assert.deepEqual(await axe(ip), []);
  await shot(ip, '96-usage-paid');

  await ip.locator('#lang-toggle').click();
  await ip.getByRole('heading', { name: '交付与用量' }).waitFor();
  await ip.getByRole('heading', { name: '实付款项' }).waitFor();
  assert.deepEqual(pp.problems, []);
  assert.deepEqual(ip.problems, []);
  await pp.context().close();
  await ip.context().close();
});
