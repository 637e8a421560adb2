// Reserving is one user action, whatever the browser and the network do: a double-clicked
// "Reserve" (and a form submitted twice) makes one request and one order, and a reservation
// whose answer is lost after the server applied it is retried under the same Idempotency-Key
// and replayed, still one order. Each in English and in Chinese, against a real suanlid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, newPage, signIn, shot } from './harness.mjs';
import { Client, organisation, programme, voucher, offer, acceleratorName } from './world.mjs';

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

// An institute of its own with a voucher, and an offer of a provider of its own.
async function world() {
  const inst = await organisation(server.base, 'institute');
  const prov = await organisation(server.base, 'provider');
  const prg = await programme(server.base, { max_subsidy_bp: 5000 });
  const v = await voucher(server.base, prg, inst.org, 10000000);
  const o = await offer(server.base, prov.email, { accelerator: acceleratorName('H800'), units: 4 });
  return { inst, offer: o, voucher: v };
}

// The orders the institute holds, asked of the server (not of the page).
async function ordersOf(email) {
  const c = await Client.signIn(server.base, email);
  return (await c.get('/v1/orders?limit=50')).items;
}

// The page's POST /v1/plans requests, with their Idempotency-Key, and the answers.
function watchPlans(page) {
  const seen = { requests: [], replayed: [] };
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/v1/plans') seen.requests.push(r.headers()['idempotency-key']);
  });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/v1/plans') seen.replayed.push(r.headers()['idempotent-replayed'] === 'true');
  });
  return seen;
}

async function openReserve(lang, w) {
  const page = await newPage(browser, server.base, { lang, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
  await signIn(page, w.inst.email);
  await page.goto(`/#/reserve?offer_id=${w.offer.id}`);
  await page.locator('.preview dd.net-value').waitFor();
  // apply the voucher: the estimate is the server's answer for the plan with it
  await page.locator(`input[name=voucher_ids][value="${w.voucher.id}"]`).check();
  await page.locator('#preview-btn').click();
  await page.locator('.preview dd.subsidy').filter({ hasNotText: /^¥0\.00$/ }).waitFor();
  return page;
}

for (const lang of ['en', 'zh']) {
  test(`${lang}: a double-clicked Reserve, and a form submitted twice, reserve once`, async () => {
    const w = await world();
    const page = await openReserve(lang, w);
    const seen = watchPlans(page);
    await page.locator('form.card button[type=submit]').dblclick();
    const dialog = page.locator('dialog');
    await dialog.waitFor();
    // a second submission while the first is waiting for its confirmation joins it
    await page.evaluate(() => {
      const f = document.querySelector('form.card');
      f.requestSubmit();
      f.requestSubmit();
    });
    assert.equal(await dialog.count(), 1, 'one confirmation for one action');
    await dialog.locator('button[value=ok]').dblclick();
    await page.locator('section.success').waitFor();
    await shot(page, `30-reserve-double-click-${lang}`);
    assert.equal(seen.requests.length, 1, 'one POST /v1/plans');
    const orders = await ordersOf(w.inst.email);
    assert.equal(orders.length, 1, 'one order');
    assert.equal(orders[0].offer_id, w.offer.id);
    assert.ok(BigInt(orders[0].subsidy_fen) > 0n, 'the voucher paid');
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test(`${lang}: a reservation whose answer is lost is retried under its key and reserved once`, async () => {
    const w = await world();
    const page = await openReserve(lang, w);
    const seen = watchPlans(page);
    // the first POST /v1/plans reaches the server, which reserves; its answer is then lost
    let applied = null;
    await page.route('**/v1/plans', async (route) => {
      if (applied === null) {
        const res = await route.fetch();
        applied = res.status();
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });
    const estimate = await page.locator('.preview dd.net-value').textContent();
    await page.locator('form.card button[type=submit]').click();
    await page.locator('dialog button[value=ok]').click();
    const done = page.locator('section.success');
    await done.waitFor();
    assert.equal(applied, 201, 'the server applied the first request');
    assert.equal(seen.requests.length, 2, 'the UI retried once');
    assert.ok(seen.requests[0] && seen.requests[0] === seen.requests[1], `one Idempotency-Key for the action: ${seen.requests}`);
    assert.deepEqual(seen.replayed, [true], 'the retry got the stored answer');
    assert.equal(await done.locator('dd.net-value').textContent(), estimate, 'charged what the estimate showed');
    const orders = await ordersOf(w.inst.email);
    assert.equal(orders.length, 1, 'one order');
    // the dropped connection is the only thing the page complained about
    assert.deepEqual(page.problems.filter((p) => !/ERR_CONNECTION_RESET|Failed to load resource/.test(p)), []);
    await page.context().close();
  });
}
