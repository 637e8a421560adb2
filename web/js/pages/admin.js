// City administrator pages (auditors and the operator see them read-only): programmes with
// their budget gauge, creating and editing a programme and its rules, issuing vouchers one
// at a time or from a CSV file, revoking, the city's vouchers, institutes and providers.
import { get, post, patch, ApiError, clearCache, userAction } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, parseYuan, percentBp, share, timeEl, badge, empty,
  notAvailable, problemBox, table, pager, field, checkGroup, moneyField, onSubmit, showProblem, flash,
  confirmDialog, section, localInput, fromLocalInput, num,
} from '../ui.js';
import { CLASSES, regions, regionLabel, orgs, orgNames, idCell, shortId, pageHeader, percentToShare, shareToPercent, optional } from './common.js';
import { balanceBar } from './institute/vouchers.js';

// ==== the budget gauge ========================================================================

// budget = available + (issued − released); issued − released = outstanding + redeemed.
export function gauge(p) {
  const B = BigInt(p.budget_fen || 0);
  const redeemed = BigInt(p.redeemed_fen || 0);
  const committed = BigInt(p.issued_fen || 0) - BigInt(p.released_fen || 0);
  const outstanding = p.outstanding_fen !== undefined ? BigInt(p.outstanding_fen) : committed - redeemed;
  const available = p.available_fen !== undefined ? BigInt(p.available_fen) : B - committed;
  const parts = [['redeemed', redeemed], ['outstanding', outstanding < 0n ? 0n : outstanding], ['available', available < 0n ? 0n : available]];
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 1000 24');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'gauge-bar');
  svg.setAttribute('aria-hidden', 'true');
  let x = 0;
  for (const [k, v] of parts) {
    const w = B > 0n ? Number((v * 1000n) / B) : 0;
    const r = document.createElementNS(ns, 'rect');
    Object.entries({ x, y: 0, width: w, height: 24, class: `g-${k}` }).forEach(([a, b]) => r.setAttribute(a, b));
    svg.append(r);
    x += w;
  }
  const pct = (v) => (B > 0n ? `${Number((v * 1000n) / B) / 10} %` : '—');
  return h('figure.gauge', { 'aria-label': t('programs.gauge_label') }, svg,
    h('figcaption', h('dl.gauge-legend',
      h('div', h('dt', t('programs.budget')), h('dd', money(p.budget_fen))),
      h('div', h('dt', t('programs.issued')), h('dd', money(p.issued_fen))),
      h('div.k-redeemed', h('dt', h('span.swatch.g-redeemed', { 'aria-hidden': 'true' }), t('programs.redeemed')), h('dd', `${money(p.redeemed_fen)} (${pct(redeemed)})`)),
      h('div.k-outstanding', h('dt', h('span.swatch.g-outstanding', { 'aria-hidden': 'true' }), t('programs.outstanding')), h('dd', money(outstanding.toString()))),
      h('div', h('dt', t('programs.released')), h('dd', money(p.released_fen))),
      h('div.k-available', h('dt', h('span.swatch.g-available', { 'aria-hidden': 'true' }), t('programs.available')), h('dd.available-value', `${money(available.toString())} (${pct(available)})`)))));
}

function rulesList(p) {
  return h('dl.kv',
    h('dt', t('programs.period')), h('dd', timeEl(p.starts_at, false), ' – ', timeEl(p.ends_at, false)),
    h('dt', t('programs.max_subsidy')), h('dd', percentBp(p.max_subsidy_bp)),
    h('dt', t('programs.classes')), h('dd', (p.resource_classes || []).length ? p.resource_classes.map((c) => t(`class.${c}`)).join(', ') : t('common.all')),
    h('dt', t('programs.regions')), h('dd', (p.regions || []).length ? p.regions.map(regionLabel).join(', ') : t('common.all')),
    h('dt', t('programs.min_green')), h('dd', p.min_green_share ? share(p.min_green_share) : t('common.none')),
    h('dt', t('programs.cap')), h('dd', p.per_institute_cap_fen ? money(p.per_institute_cap_fen) : t('common.none')),
    h('dt', t('scheme.year_cap')), h('dd', p.per_institute_year_cap_fen ? money(p.per_institute_year_cap_fen) : t('common.none')),
    h('dt', t('scheme.contract_bp')), h('dd', p.per_contract_cap_bp ? percentBp(p.per_contract_cap_bp) : t('common.none')),
    h('dt', t('scheme.domestic_bp')), h('dd', p.domestic_subsidy_bp ? percentBp(p.domestic_subsidy_bp) : t('common.none')),
    h('dt', t('scheme.west_bp')), h('dd', p.west_subsidy_bp ? percentBp(p.west_subsidy_bp) : t('common.none')),
    h('dt', t('scheme.providers')), h('dd', p.open_to_all_providers === false ? t('scheme.accredited_only') : t('scheme.open_to_all')),
    h('dt', t('scheme.funders')), h('dd', (p.funders || []).length ? funderText(p.funders) : t('common.none')));
}

// [{funder, share_bp}] ⇄ "province 50, city 50" (percent) for the rules editor.
const funderText = (list) => (list || []).map((f) => `${f.funder} ${f.share_bp / 100}`).join(', ');
function parseFunders(text) {
  if (!text) return [];
  const out = [];
  for (const part of text.split(/[,，;；]/).map((x) => x.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*[:：]?\s*(\d+(?:\.\d{1,2})?)\s*%?$/.exec(part);
    if (!m) return null;
    out.push({ funder: m[1].trim(), share_bp: Math.round(Number(m[2]) * 100) });
  }
  return out;
}
const bpOrNull = (v) => (v === '' || v === undefined ? null : Math.round(Number(v) * 100));

// ==== programmes =============================================================================

export async function programs(main, { me }) {
  const head = pageHeader(t('programs.title'), me.role === 'city_admin' ? h('a.button', { href: '#/programs/new' }, t('programs.new')) : null);
  const first = await optional(() => get('/v1/programs', { limit: 50 }));
  if (!first.ok) { clear(main, head, notAvailable(t('programs.unavailable'))); return; }
  const list = h('div');
  clear(main, head, list);
  await pager(list, (cursor) => (cursor ? get('/v1/programs', { limit: 50, cursor }) : first.value),
    (items) => h('div.cards', items.map((p) => h('article.card.program', { dataset: { id: p.id } },
      h('div.voucher-head', h('h2', h('a', { href: `#/programs/${p.id}` }, p.name)), p.status ? badge(p.status) : null),
      gauge(p), rulesList(p)))), t('programs.empty'));
}

export async function programDetail(main, { me, params }) {
  const p = await get(`/v1/programs/${params.id}`);
  const admin = me.role === 'city_admin';
  const vouchersHost = h('div');
  clear(main,
    pageHeader(p.name, p.status ? badge(p.status) : null, admin ? h('a.button', { href: `#/programs/${p.id}/issue` }, t('programs.issue')) : null,
      admin ? h('a.button.secondary', { href: `#/programs/${p.id}/edit` }, t('common.edit')) : null,
      h('a.button.secondary', { href: `#/programs/${p.id}/providers` }, t('scheme.accreditation_link'))),
    section(t('programs.budget_title'), gauge(p)),
    section(t('programs.rules'), rulesList(p)),
    section(t('programs.vouchers'), vouchersHost));
  await voucherTable(vouchersHost, { program_id: p.id }, admin);
}

// The vouchers of a programme (or of the city) with revocation for administrators.
async function voucherTable(host, q, admin) {
  const institutes = await orgNames('institute');
  const first = await optional(() => get('/v1/vouchers', { ...q, limit: 50 }));
  if (!first.ok) { clear(host, notAvailable(t('vouchers.unavailable'))); return; }
  await pager(host, (cursor) => (cursor ? get('/v1/vouchers', { ...q, limit: 50, cursor }) : first.value), (items) => table([
    { label: t('vouchers.institute'), head: true, cell: (v) => idCell(v.institute_id, institutes) },
    { label: t('vouchers.face_value'), num: true, cell: (v) => money(v.face_value_fen) },
    { label: t('vouchers.balance'), cell: (v) => balanceBar(v.balance_fen, v.face_value_fen) },
    { label: t('vouchers.expires'), cell: (v) => timeEl(v.expires_at, false) },
    { label: t('offer.status'), cell: (v) => badge(v.status) },
    { label: t('vouchers.id'), cell: (v) => h('code.id', { title: v.id }, shortId(v.id)) },
    ...(admin ? [{ label: t('common.actions'), cell: (v) => (v.status === 'active' ? revokeButton(v, institutes) : '') }] : []),
  ], items, { caption: t('programs.vouchers'), rowKey: (v) => v.id }), t('vouchers.empty_city'));
}

function revokeButton(v, institutes) {
  const b = h('button.small.danger', { type: 'button', 'aria-label': `${t('vouchers.revoke')} ${shortId(v.id)}` }, t('vouchers.revoke'));
  // one user action: a double click opens one dialog, a retry reuses its Idempotency-Key
  b.addEventListener('click', userAction(async (act) => {
    const ok = await confirmDialog(t('vouchers.revoke_title'), [
      h('p', t('vouchers.revoke_text', { institute: institutes.get(v.institute_id) || shortId(v.institute_id), balance: money(v.balance_fen) }))],
    t('vouchers.revoke'), { danger: true });
    if (!ok) return;
    b.disabled = true;
    try {
      const res = await act.post(`/v1/vouchers/${v.id}/revoke`, {});
      const row = b.closest('tr');
      row.querySelector('.badge').replaceWith(badge(res.status || 'revoked'));
      clear(b.parentElement, h('span.muted', t('vouchers.released', { amount: money(v.balance_fen) })));
      flash(t('vouchers.revoked', { amount: money(v.balance_fen) }));
    } catch (e) {
      b.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      b.parentElement.append(problemBox(e));
    }
  }));
  return b;
}

export async function cityVouchers(main, { me, query, navigate }) {
  const list = h('div');
  const status = query.status || '';
  const filter = h('form.inline-filter', { 'aria-label': t('orders.filter') },
    field({ name: 'status', label: t('offer.status'), type: 'select', value: status,
      options: [['', t('common.all')], ...['active', 'exhausted', 'revoked', 'expired'].map((s) => [s, t(`status.${s}`)])] }),
    h('button.secondary', { type: 'submit' }, t('common.apply')));
  onSubmit(filter, async (v) => navigate('vouchers-city', { status: v.status }));
  clear(main, pageHeader(t('nav.city_vouchers')), filter, list);
  await voucherTable(list, { status }, me.role === 'city_admin');
}

// ==== create / edit ===========================================================================

export async function programForm(main, { params, navigate }) {
  const editing = !!params.id;
  const p = editing ? await get(`/v1/programs/${params.id}`) : null;
  const regs = await regions();
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const inTwoYears = new Date(today);
  inTwoYears.setFullYear(today.getFullYear() + 2);
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'pf-h' },
    h('h2', { id: 'pf-h' }, t('programs.rules')),
    h('div.grid',
      field({ name: 'name', label: t('programs.name'), value: p ? p.name : '', required: true }),
      moneyField({ name: 'budget_fen', label: t('programs.budget'), fen: p ? p.budget_fen : undefined, required: true }),
      field({ name: 'starts_at', label: t('programs.starts'), type: 'datetime-local', value: localInput(p ? new Date(p.starts_at) : today), required: true }),
      field({ name: 'ends_at', label: t('programs.ends'), type: 'datetime-local', value: localInput(p ? new Date(p.ends_at) : inTwoYears), required: true }),
      field({ name: 'max_subsidy_bp', label: t('programs.max_subsidy_pct'), type: 'number', min: 0, max: 100, step: 0.01, value: p ? p.max_subsidy_bp / 100 : 50, required: true, hint: t('programs.max_subsidy_hint') }),
      checkGroup({ name: 'resource_classes', label: t('programs.classes'), options: CLASSES.map((c) => [c, t(`class.${c}`)]), value: p ? p.resource_classes : CLASSES }),
      checkGroup({ name: 'regions', label: t('programs.regions'), options: regs.map((r) => [r.code, `${regionLabel(r.code)} (${t(`zone.${r.zone}`)})`]), value: p ? p.regions : regs.map((r) => r.code), hint: t('programs.regions_hint') }),
      field({ name: 'min_green_share', label: t('programs.min_green_pct'), type: 'number', min: 0, max: 100, step: 'any', value: p ? shareToPercent(p.min_green_share) : '0' }),
      moneyField({ name: 'per_institute_cap_fen', label: t('programs.cap'), fen: p && p.per_institute_cap_fen ? p.per_institute_cap_fen : undefined, hint: t('programs.cap_hint') })),
    h('h2', t('scheme.rules_title')),
    h('div.grid',
      moneyField({ name: 'per_institute_year_cap_fen', label: t('scheme.year_cap'), fen: p && p.per_institute_year_cap_fen ? p.per_institute_year_cap_fen : undefined, hint: t('scheme.year_cap_hint') }),
      field({ name: 'per_contract_cap_bp', label: t('scheme.contract_pct'), type: 'number', min: 0.01, max: 100, step: 0.01, value: p && p.per_contract_cap_bp ? p.per_contract_cap_bp / 100 : '', hint: t('programs.cap_hint') }),
      field({ name: 'domestic_subsidy_bp', label: t('scheme.domestic_pct'), type: 'number', min: 0.01, max: 100, step: 0.01, value: p && p.domestic_subsidy_bp ? p.domestic_subsidy_bp / 100 : '', hint: t('scheme.tier_hint') }),
      field({ name: 'west_subsidy_bp', label: t('scheme.west_pct'), type: 'number', min: 0.01, max: 100, step: 0.01, value: p && p.west_subsidy_bp ? p.west_subsidy_bp / 100 : '', hint: t('scheme.tier_hint') }),
      field({ name: 'funders', label: t('scheme.funders'), value: p ? funderText(p.funders) : '', hint: t('scheme.funders_hint') }),
      field({ name: 'open_to_all_providers', label: t('scheme.open_to_all_label'), type: 'checkbox', value: p ? p.open_to_all_providers !== false : true })),
    h('div.actions', h('button', { type: 'submit' }, editing ? t('common.save') : t('programs.create')), h('a.button.secondary', { href: editing ? `#/programs/${p.id}` : '#/programs' }, t('common.cancel'))));
  clear(main, pageHeader(editing ? t('programs.edit_title', { name: p.name }) : t('programs.new')), form);
  onSubmit(form, async (v) => {
    const errors = [];
    const budget = parseYuan(v.budget_fen);
    if (budget === null) errors.push({ field: 'budget_fen', message: t('common.bad_amount') });
    const cap = v.per_institute_cap_fen ? parseYuan(v.per_institute_cap_fen) : null;
    if (v.per_institute_cap_fen && cap === null) errors.push({ field: 'per_institute_cap_fen', message: t('common.bad_amount') });
    if (!v.name) errors.push({ field: 'name', message: t('common.required') });
    const yearCap = v.per_institute_year_cap_fen ? parseYuan(v.per_institute_year_cap_fen) : null;
    if (v.per_institute_year_cap_fen && yearCap === null) errors.push({ field: 'per_institute_year_cap_fen', message: t('common.bad_amount') });
    const funders = parseFunders(v.funders);
    if (funders === null) errors.push({ field: 'funders', message: t('scheme.funders_bad') });
    if (errors.length) { showProblem(form, { problem: { title: t('problem.validation-failed'), errors } }); return; }
    const body = {
      name: v.name,
      budget_fen: Number(budget),
      starts_at: fromLocalInput(v.starts_at),
      ends_at: fromLocalInput(v.ends_at),
      max_subsidy_bp: Math.round(Number(v.max_subsidy_bp) * 100),
      resource_classes: v.resource_classes,
      regions: v.regions,
      min_green_share: percentToShare(v.min_green_share || '0'),
    };
    if (cap !== null) body.per_institute_cap_fen = Number(cap);
    const rules = {
      per_institute_year_cap_fen: yearCap === null ? null : Number(yearCap),
      per_contract_cap_bp: bpOrNull(v.per_contract_cap_bp),
      domestic_subsidy_bp: bpOrNull(v.domestic_subsidy_bp),
      west_subsidy_bp: bpOrNull(v.west_subsidy_bp),
    };
    // a new programme omits an empty rule; an edit sends null to remove one that was set
    for (const [k, x] of Object.entries(rules)) if (x !== null || editing) body[k] = x;
    body.open_to_all_providers = v.open_to_all_providers;
    body.funders = funders;
    if (editing && cap === null && p.per_institute_cap_fen) body.per_institute_cap_fen = null;
    if (editing) {
      // Send only what changed: some rules cannot change once the programme has started.
      const same = (k) => (k === 'funders' ? JSON.stringify(body[k]) === JSON.stringify(p[k] || [])
        : Array.isArray(body[k]) ? [...body[k]].sort().join() === [...(p[k] || [])].sort().join()
        : k.endsWith('_at') ? new Date(body[k]).getTime() === new Date(p[k]).getTime() : String(body[k]) === String(p[k]));
      for (const k of Object.keys(body)) if (same(k)) delete body[k];
      if (!Object.keys(body).length) { navigate(`programs/${p.id}`); return; }
    }
    const saved = editing ? await patch(`/v1/programs/${p.id}`, body, p.etag || (p.version !== undefined ? `"${p.version}"` : undefined))
      : await post('/v1/programs', body);
    flash(editing ? t('programs.saved') : t('programs.created'));
    navigate(`programs/${saved.id}`);
  });
}

// ==== issuing ==================================================================================

// "a,b,\"c,d\"" → ['a', 'b', 'c,d'] (RFC 4180 quoting).
export function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows.filter((r) => r.some((c) => c.trim() !== ''));
}

const CSV_CHUNK = 200;

// CSV rows → voucher bodies, or per-row errors. Columns by header: institute (id or name),
// face_value_cny, expires_at, not_before (optional).
export function csvToVouchers(text, institutes) {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!rows.length) return { items: [], errors: [{ row: 0, message: t('issue.csv_empty') }] };
  const header = rows[0].map((c) => c.trim().toLowerCase());
  const col = (...names) => header.findIndex((c) => names.includes(c));
  const ci = col('institute', 'institute_id', 'institute_name'), cv = col('face_value_cny', 'face_value', 'amount_cny');
  const ce = col('expires_at', 'expires'), cn = col('not_before');
  if (ci < 0 || cv < 0 || ce < 0) return { items: [], errors: [{ row: 1, message: t('issue.csv_header') }] };
  const byName = new Map([...institutes].map(([id, n]) => [n.toLowerCase(), id]));
  const items = [], errors = [];
  rows.slice(1).forEach((r, i) => {
    const line = i + 2;
    const inst = (r[ci] || '').trim();
    const id = institutes.has(inst) ? inst : byName.get(inst.toLowerCase()) || (/^[0-9a-f-]{36}$/i.test(inst) ? inst : null);
    const fen = parseYuan((r[cv] || '').trim());
    const exp = new Date((r[ce] || '').trim());
    const nb = cn >= 0 && (r[cn] || '').trim() ? new Date(r[cn].trim()) : null;
    const rowErr = [];
    if (!id) rowErr.push(t('issue.err_institute', { v: inst }));
    if (fen === null || fen === '0') rowErr.push(t('issue.err_amount', { v: r[cv] || '' }));
    if (Number.isNaN(exp.getTime())) rowErr.push(t('issue.err_date', { v: r[ce] || '' }));
    if (nb && Number.isNaN(nb.getTime())) rowErr.push(t('issue.err_date', { v: r[cn] }));
    if (rowErr.length) { errors.push({ row: line, message: rowErr.join('; ') }); return; }
    const body = { institute_id: id, face_value_fen: Number(fen), expires_at: exp.toISOString() };
    if (nb) body.not_before = nb.toISOString();
    items.push({ line, body });
  });
  return { items, errors };
}

export async function issue(main, { params }) {
  const p = await get(`/v1/programs/${params.id}`);
  const institutes = await orgNames('institute');
  const inAYear = new Date();
  inAYear.setFullYear(inAYear.getFullYear() + 1);
  inAYear.setHours(0, 0, 0, 0);
  const expiry = new Date(Math.min(inAYear.getTime(), Date.parse(p.ends_at)));
  const one = h('form', { novalidate: true, 'aria-labelledby': 'one-h' },
    h('h2', { id: 'one-h' }, t('issue.one')),
    h('div.grid',
      field({ name: 'institute_id', label: t('vouchers.institute'), type: 'select', required: true, options: [...institutes].map(([id, n]) => [id, n]) }),
      moneyField({ name: 'face_value_fen', label: t('vouchers.face_value'), required: true }),
      field({ name: 'not_before', label: t('vouchers.valid_from'), type: 'datetime-local', hint: t('issue.not_before_hint') }),
      field({ name: 'expires_at', label: t('vouchers.expires'), type: 'datetime-local', value: localInput(expiry), required: true })),
    h('div.actions', h('button', { type: 'submit' }, t('issue.submit_one'))));
  const oneResult = h('div', { 'aria-live': 'polite' });
  onSubmit(one, userAction(async (act, v) => {
    const fen = parseYuan(v.face_value_fen);
    if (fen === null) { showProblem(one, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'face_value_fen', message: t('common.bad_amount') }] } }); return; }
    const body = { institute_id: v.institute_id, face_value_fen: Number(fen), expires_at: fromLocalInput(v.expires_at) };
    if (v.not_before) body.not_before = fromLocalInput(v.not_before);
    const voucher = await act.post(`/v1/programs/${p.id}/vouchers`, body);
    clear(oneResult, h('div.notice.notice-ok', { role: 'status' }, t('issue.issued_one', { amount: money(voucher.face_value_fen), institute: institutes.get(voucher.institute_id) || '' }), ' ', h('code', voucher.id)));
    flash(t('issue.issued_one', { amount: money(voucher.face_value_fen), institute: institutes.get(voucher.institute_id) || '' }));
  }));

  const fileId = 'csv-file';
  const csv = h('form', { novalidate: true, 'aria-labelledby': 'csv-h' },
    h('h2', { id: 'csv-h' }, t('issue.csv')),
    h('p', t('issue.csv_help')),
    h('pre.sample', 'institute,face_value_cny,expires_at,not_before\nSichuan University AI Lab,10000.00,2027-12-31,\n'),
    h('div.field', { dataset: { field: 'file' } }, h('label', { for: fileId }, t('issue.csv_file')),
      h('input', { type: 'file', id: fileId, name: 'file', accept: '.csv,text/csv', required: true, 'aria-describedby': `${fileId}-err` }),
      h('p.field-error', { id: `${fileId}-err` })),
    h('div.actions', h('button', { type: 'submit' }, t('issue.submit_csv'))));
  const progress = h('progress', { max: 100, value: 0, 'aria-label': t('issue.progress') });
  const progressText = h('span', { role: 'status', 'aria-live': 'polite' });
  const progressBox = h('div.progress', progress, progressText);
  progressBox.hidden = true;
  const csvResult = h('div');
  onSubmit(csv, userAction(async (act) => {
    clear(csvResult);
    const file = csv.querySelector('input[type=file]').files[0];
    if (!file) { showProblem(csv, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'file', message: t('issue.choose_file') }] } }); return; }
    const { items, errors } = csvToVouchers(await file.text(), institutes);
    if (errors.length) {
      clear(csvResult, h('div.notice.notice-error', { role: 'alert', tabindex: '-1' }, h('strong', t('issue.csv_invalid', { n: errors.length })), ' ', t('issue.nothing_sent')),
        rowErrors(errors));
      csvResult.firstChild.focus();
      return;
    }
    progressBox.hidden = false;
    let done = 0, total = 0n;
    for (let i = 0; i < items.length; i += CSV_CHUNK) {
      const chunk = items.slice(i, i + CSV_CHUNK);
      progress.value = Math.round((done / items.length) * 100);
      progressText.textContent = t('issue.progress_text', { done, total: items.length });
      try {
        const res = await act.post(`/v1/programs/${p.id}/vouchers`, { vouchers: chunk.map((c) => c.body) });
        done += chunk.length;
        for (const v of res.items || []) total += BigInt(v.face_value_fen);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        // errors name vouchers[i].field: i counts from the chunk's first row.
        const perRow = (e.problem.errors || []).map((er) => {
          const m = /^vouchers\[(\d+)\]\.?(.*)$/.exec(er.field || '');
          return m ? { row: chunk[Number(m[1])].line, message: `${m[2] ? `${m[2]}: ` : ''}${er.message}` } : { row: null, message: `${er.field ? `${er.field}: ` : ''}${er.message}` };
        });
        clear(csvResult, problemBox(e), done ? h('p', t('issue.partial', { done, first: chunk[0].line })) : h('p', t('issue.nothing_issued')), perRow.length ? rowErrors(perRow) : null);
        progressText.textContent = t('issue.stopped', { done, total: items.length });
        return;
      }
    }
    progress.value = 100;
    progressText.textContent = t('issue.progress_text', { done, total: items.length });
    clear(csvResult, h('div.notice.notice-ok', { role: 'status' }, t('issue.issued_many', { n: done, amount: money(total.toString()) })),
      h('a.button.secondary', { href: `#/programs/${p.id}` }, t('issue.back')));
    flash(t('issue.issued_many', { n: done, amount: money(total.toString()) }));
  }));
  clear(main, pageHeader(t('issue.title', { name: p.name })),
    section(t('programs.budget_title'), gauge(p)),
    h('div.card', one, oneResult),
    h('div.card', csv, progressBox, csvResult));
}

function rowErrors(list) {
  return table([
    { label: t('issue.row'), head: true, num: true, cell: (e) => (e.row ? String(e.row) : '—') },
    { label: t('issue.error'), cell: (e) => e.message },
  ], list, { caption: t('issue.row_errors') });
}

// ==== organisations ============================================================================

export async function organizations(main, { me }) {
  const admin = me.role === 'city_admin';
  const [inst, prov] = await Promise.all([orgs('institute'), orgs('provider')]);
  const cols = [
    { label: t('orgs.name'), head: true, cell: (o) => o.name },
    { label: t('orgs.since'), cell: (o) => timeEl(o.created_at, false) },
    { label: 'ID', cell: (o) => h('code.id', { title: o.id }, o.id) },
  ];
  const form = admin ? h('form.card', { novalidate: true, 'aria-labelledby': 'org-new-h' },
    h('h2', { id: 'org-new-h' }, t('orgs.register')),
    h('div.grid',
      field({ name: 'type', label: t('orgs.type'), type: 'select', options: [['institute', t('orgs.institute')], ['provider', t('orgs.provider')]] }),
      field({ name: 'name', label: t('orgs.name'), required: true })),
    h('div.actions', h('button', { type: 'submit' }, t('orgs.register_btn')))) : null;
  if (form) onSubmit(form, async (v) => {
    const o = await post('/v1/organizations', { type: v.type, name: v.name });
    clearCache();
    await organizations(main, { me });
    flash(t('orgs.registered', { name: o.name }));
  });
  clear(main, pageHeader(t('orgs.title')),
    section(t('orgs.institutes'), inst.length ? table(cols, inst, { caption: t('orgs.institutes') }) : empty()),
    section(t('orgs.providers'), prov.length ? table(cols, prov, { caption: t('orgs.providers') }) : empty()),
    form);
}

