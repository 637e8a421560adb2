// The notification bell, in a real browser against a real suanlid: an institute is told of a
// voucher issued to it (unread count, the sentence in English and Chinese), marks it read, and
// a provider is told of an order on its offer; the panel passes axe-core.
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

test('an institute sees a voucher issued to it under the bell and marks it read', async () => {
  const inst = await organisation(server.base, 'institute');
  const prg = await programme(server.base);
  await voucher(server.base, prg, inst.org, 123456);
  const page = await newPage(browser, server.base);
  await signIn(page, inst.email);
  const bell = page.locator('#bell');
  await page.waitForFunction(() => document.querySelector('#bell .bell-count')?.textContent === '1');
  assert.equal(await bell.getAttribute('aria-label'), 'Notifications: 1 unread');
  await bell.click();
  const item = page.locator('.bell-item[data-kind="voucher.issued"]');
  await item.waitFor();
  assert.match(await item.locator('.bell-text').textContent(), /1 voucher\(s\) of ¥1,234\.56 issued to you/);
  assert.deepEqual(await axe(page), []);
  await shot(page, '90-bell-en');
  await page.locator('#lang-toggle').click(); // the header is drawn again, its panel closed
  await page.waitForFunction(() => document.querySelector('#bell')?.getAttribute('aria-label') === '通知：1 条未读');
  await page.locator('#bell').click();
  await page.locator('.bell-item[data-kind="voucher.issued"]').waitFor();
  assert.match(await page.locator('.bell-item .bell-text').first().textContent(), /已向您发放 1 张算力券/);
  await shot(page, '91-bell-zh');
  await page.locator('#bell-read-all').click();
  await page.waitForFunction(() => document.querySelector('#bell .bell-count')?.textContent === '');
  assert.equal(await page.locator('.bell-item.unread').count(), 0);
  await page.keyboard.press('Escape'); // the panel closes and the bell has the focus again
  assert.equal(await page.locator('#bell-panel').isHidden(), true);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'bell');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a provider sees an order on its offer under the bell', async () => {
  const prov = await organisation(server.base, 'provider');
  const inst = await organisation(server.base, 'institute');
  const o = await offer(server.base, prov.email);
  const buyer = await Client.signIn(server.base, inst.email);
  const start = Math.ceil(Date.now() / 3600e3) * 3600e3 + 24 * 3600e3;
  await buyer.post('/v1/orders', { offer_id: o.id, units: 1, start: iso(start), end: iso(start + 3600e3) });
  const page = await newPage(browser, server.base);
  await signIn(page, prov.email);
  await page.locator('#bell').click();
  const item = page.locator('.bell-item[data-kind="order.created"]');
  await item.waitFor();
  assert.match(await item.locator('.bell-text').textContent(), /New order: 1 ×/);
  await item.getByRole('button', { name: 'Mark read' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.bell-item.unread').length === 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
