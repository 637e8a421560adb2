// The voucher scheme in the browser (issue 13), in English and Chinese: an institute sees the
// programmes open to it, applies and finds its application under "My applications"; the city
// administrator approves (trimmed) and rejects from the review queue, keeps a programme's
// accreditation list, and edits the scheme's rules, which read back as saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, startBrowser, newPage, signIn, shot, axe } from './harness.mjs';
import { Client, organisation, programme, unique, cityAdmin } from './world.mjs';
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

const open = async (lang) => {
  const page = await newPage(browser, server.base, { lang, locale: lang === 'zh' ? 'zh-CN' : 'en-GB' });
  pages.add(page);
  return page;
};
const noProblems = (page) => {
  assert.deepEqual(page.problems, [], 'the page logged errors, CSP violations or missing translations');
  assert.deepEqual(page.failedLoads, [], 'the page logged failed loads');
};
// Screenshots FAILED-<name>.png and names the page's problems when a test fails.
const pages = new Set();
const flow = (name, fn) => test(name, async (t) => {
  try {
    await fn();
  } catch (e) {
    for (const page of pages) {
      if (page.isClosed()) continue;
      await shot(page, `FAILED-${t.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      e.message += `\npage problems: ${JSON.stringify(page.problems)}; failed loads: ${JSON.stringify(page.failedLoads)}`;
    }
    throw e;
  } finally {
    pages.clear();
  }
});
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const lang of ['en', 'zh']) {
  const L = lang === 'zh' ? zh : en;
  const S = (key) => L[`status.${key}`];

  flow(`${lang}: an institute sees the open programmes, applies, and sees it under My applications`, async () => {
    const { org, email } = await organisation(server.base, 'institute');
    const p = await programme(server.base, { per_contract_cap_bp: 2000 });
    const page = await open(lang);
    await signIn(page, email);
    await page.getByRole('link', { name: L['nav.open_programs'] }).click();
    await page.getByRole('heading', { level: 1, name: L['scheme.open_title'] }).waitFor();
    const card = page.locator('article.program').filter({ has: page.getByRole('heading', { name: p.name }) });
    await card.waitFor();
    assert.deepEqual(await axe(page), [], 'axe-core: open programmes');
    await card.getByRole('link', { name: `${L['scheme.apply']}: ${p.name}` }).click();
    await page.getByRole('button', { name: L['scheme.submit'] }).waitFor();
    assert.deepEqual(await axe(page), [], 'axe-core: application form');
    const ref = unique('HT');
    await page.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.requested'])}`) }).fill('1500');
    await page.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.contract_reference'])}`) }).fill(ref);
    await page.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.contract_value'])}`) }).fill('10000');
    await page.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.purpose'])}`) }).fill('Fine-tuning');
    await page.getByLabel(L['scheme.attachments']).setInputFiles({ name: 'contract.pdf', mimeType: 'application/pdf', buffer: Buffer.from('signed contract') });
    await page.getByRole('button', { name: L['scheme.submit'] }).click();
    await page.getByRole('heading', { level: 1, name: L['nav.my_applications'] }).waitFor();
    const row = page.getByRole('table', { name: L['nav.my_applications'] }).locator('tbody tr').filter({ hasText: ref });
    await row.waitFor();
    assert.match(await row.textContent(), new RegExp(esc(S('submitted'))));
    assert.match(await row.textContent(), /¥1,500\.00/);
    await shot(page, `60-${lang}-institute-my-applications`);
    assert.deepEqual(await axe(page), [], 'axe-core: My applications');
    const inst = await Client.signIn(server.base, email);
    const mine = await inst.get(`/v1/applications?program_id=${p.id}`);
    assert.equal(mine.items.length, 1);
    assert.equal(mine.items[0].institute_id, org.id);
    assert.equal(mine.items[0].requested_fen, 150000);
    assert.deepEqual(mine.items[0].attachments, [{ name: 'contract.pdf', sha256: createHash('sha256').update('signed contract').digest('hex') }]);
    // withdraw it from the list
    await row.getByRole('button', { name: `${L['scheme.withdraw']} ${ref}` }).click();
    await row.locator('.badge').filter({ hasText: S('withdrawn') }).waitFor();
    noProblems(page);
    await page.context().close();
  });

  flow(`${lang}: the city administrator approves (trimmed) and rejects from the queue`, async () => {
    const { email } = await organisation(server.base, 'institute');
    const p = await programme(server.base);
    const inst = await Client.signIn(server.base, email);
    const apply = (ref, fen) => inst.post('/v1/applications', { program_id: p.id, requested_fen: fen, purpose: 'Training', contract_reference: ref });
    const refA = unique('HT-A'), refB = unique('HT-B');
    const a = await apply(refA, 100000);
    const b = await apply(refB, 50000);
    const page = await open(lang);
    await signIn(page, 'admin');
    await page.goto(`/#/applications?status=submitted&program_id=${p.id}`);
    await page.getByRole('heading', { level: 1, name: L['nav.applications'] }).waitFor();
    const table = page.getByRole('table', { name: L['nav.applications'] });
    const rowA = table.locator('tbody tr').filter({ hasText: refA });
    await rowA.waitFor();
    assert.deepEqual(await axe(page), [], 'axe-core: review queue');
    await rowA.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.amount'])}`) }).fill('600');
    await rowA.getByRole('button', { name: `${L['scheme.approve']} ${refA}` }).click();
    await rowA.locator('.badge').filter({ hasText: S('approved') }).waitFor();
    const rowB = table.locator('tbody tr').filter({ hasText: refB });
    await rowB.getByRole('button', { name: `${L['scheme.reject']} ${refB}` }).click();
    await rowB.locator('.field-error').filter({ hasText: L['scheme.reason_required'] }).waitFor();
    await rowB.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.note_or_reason'])}`) }).fill('No contract attached');
    await rowB.getByRole('button', { name: `${L['scheme.reject']} ${refB}` }).click();
    await rowB.locator('.badge').filter({ hasText: S('rejected') }).waitFor();
    await shot(page, `61-${lang}-admin-queue`);
    const admin = await cityAdmin(server.base);
    const ga = await admin.get(`/v1/applications/${a.id}`);
    assert.equal(ga.status, 'approved');
    assert.equal(ga.approved_fen, 60000);
    assert.ok(ga.voucher_id);
    const gb = await admin.get(`/v1/applications/${b.id}`);
    assert.equal(gb.status, 'rejected');
    assert.equal(gb.decision_note, 'No contract attached');
    noProblems(page);
    await page.context().close();
  });

  flow(`${lang}: the accreditation list and the rules editor read back what was saved`, async () => {
    const p = await programme(server.base);
    const page = await open(lang);
    await signIn(page, 'admin');
    await page.goto(`/#/programs/${p.id}/providers`);
    await page.getByRole('heading', { level: 1, name: L['scheme.accreditation_title'].replace('{name}', p.name) }).waitFor();
    await page.getByRole('combobox', { name: new RegExp(`^${esc(L['scheme.provider'])}`) }).selectOption({ label: 'West Cloud' });
    await page.getByRole('combobox', { name: L['offer.status'] }).selectOption('accredited');
    await page.getByRole('button', { name: L['common.save'] }).click();
    const list = page.getByRole('table', { name: L['scheme.accreditation'] });
    await list.locator('tbody tr').filter({ hasText: 'West Cloud' }).filter({ hasText: S('accredited') }).waitFor();
    await page.getByRole('combobox', { name: L['offer.status'] }).selectOption('suspended');
    await page.getByRole('button', { name: L['common.save'] }).click();
    await list.locator('tbody tr').filter({ hasText: 'West Cloud' }).filter({ hasText: S('suspended') }).waitFor();
    await shot(page, `62-${lang}-admin-accreditation`);
    assert.deepEqual(await axe(page), [], 'axe-core: accreditation list');
    const admin = await cityAdmin(server.base);
    const acc = await admin.get(`/v1/programs/${p.id}/providers`);
    assert.deepEqual(acc.items.map((x) => [x.provider_name, x.status]), [['West Cloud', 'suspended']]);

    await page.goto(`/#/programs/${p.id}/edit`);
    const yearCap = page.getByRole('textbox', { name: new RegExp(`^${esc(L['scheme.year_cap'])}`) });
    await yearCap.fill('3000');
    await page.getByRole('spinbutton', { name: L['scheme.contract_pct'] }).fill('20');
    await page.getByRole('spinbutton', { name: L['scheme.domestic_pct'] }).fill('70');
    await page.getByRole('spinbutton', { name: L['scheme.west_pct'] }).fill('60');
    await page.getByRole('textbox', { name: L['scheme.funders'] }).fill('province 50, city 50');
    await page.getByRole('checkbox', { name: L['scheme.open_to_all_label'] }).uncheck();
    await page.getByRole('button', { name: L['common.save'] }).click();
    await page.getByRole('heading', { level: 1, name: p.name, exact: true }).waitFor();
    let got = await admin.get(`/v1/programs/${p.id}`);
    assert.equal(got.per_institute_year_cap_fen, 300000);
    assert.equal(got.per_contract_cap_bp, 2000);
    assert.equal(got.domestic_subsidy_bp, 7000);
    assert.equal(got.west_subsidy_bp, 6000);
    assert.equal(got.open_to_all_providers, false);
    assert.deepEqual(got.funders, [{ funder: 'province', share_bp: 5000 }, { funder: 'city', share_bp: 5000 }]);
    // the editor reads the saved rules back; clearing the yearly cap removes it
    await page.goto(`/#/programs/${p.id}/edit`);
    await yearCap.waitFor();
    assert.equal(Number((await yearCap.inputValue()).replace(/,/g, '')), 3000);
    assert.equal(await page.getByRole('spinbutton', { name: L['scheme.contract_pct'] }).inputValue(), '20');
    assert.equal(await page.getByRole('textbox', { name: L['scheme.funders'] }).inputValue(), 'province 50, city 50');
    assert.equal(await page.getByRole('checkbox', { name: L['scheme.open_to_all_label'] }).isChecked(), false);
    await shot(page, `63-${lang}-admin-rules-editor`);
    assert.deepEqual(await axe(page), [], 'axe-core: rules editor');
    await yearCap.fill('');
    await page.getByRole('button', { name: L['common.save'] }).click();
    await page.getByRole('heading', { level: 1, name: p.name, exact: true }).waitFor();
    got = await admin.get(`/v1/programs/${p.id}`);
    assert.equal(got.per_institute_year_cap_fen, null);
    assert.equal(got.per_contract_cap_bp, 2000);
    noProblems(page);
    await page.context().close();
  });
}
