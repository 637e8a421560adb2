// Institute pages: my vouchers, offer search, matching, reserving with vouchers, my orders,
// my redemptions.
import { get, post, ApiError } from '../api.js';
import { t, lang } from '../i18n.js';
import {
  h, clear, money, parseYuan, share, num, dateTime, timeEl, badge, loading, empty, notAvailable,
  problemBox, table, pager, field, checkGroup, moneyField, onSubmit, showProblem, clearErrors, values, flash,
  confirmDialog, copyButton, section, localInput, fromLocalInput,
} from '../ui.js';
import {
  CLASSES, ZONES, regions, regionLabel, orgNames, idCell, shortId, pageHeader, percentToShare,
  shareToPercent, grossFen, optional,
} from './common.js';

// ==== vouchers ==============================================================================

// Institutes may not read programmes; each voucher names the programme that funds it.
async function programNames() {
  const r = await optional(async () => (await get('/v1/vouchers', { limit: 200 })).items || []);
  return new Map((r.ok ? r.value : []).map((v) => [v.program_id, v.program_name]));
}

// The QR encoder is vendored from npm (make web-vendor); without it the token still shows.
export async function qrSvg(text) {
  let qrcode;
  try {
    qrcode = (await import('../../vendor/qrcode.mjs')).default;
  } catch {
    return h('p.muted', t('vouchers.qr_missing'));
  }
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `-4 -4 ${n + 8} ${n + 8}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('vouchers.qr_label'));
  const bg = document.createElementNS(ns, 'rect');
  Object.entries({ x: -4, y: -4, width: n + 8, height: n + 8, fill: '#fff' }).forEach(([k, v]) => bg.setAttribute(k, v));
  svg.append(bg);
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c} ${r}h1v1h-1z`;
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}

export function balanceBar(balance, face) {
  const b = BigInt(balance ?? 0), f = BigInt(face || 1);
  const pct = f > 0n ? Number((b * 1000n) / f) / 10 : 0;
  return h('div.balance',
    h('meter', { min: 0, max: 100, low: 20, optimum: 100, value: pct, 'aria-label': t('vouchers.balance_of_face') }),
    h('span', t('vouchers.balance_line', { balance: money(balance), face: money(face) })));
}

export async function vouchers(main) {
  clear(main, pageHeader(t('vouchers.title')), loading());
  const res = await optional(() => get('/v1/vouchers', { limit: 200 }));
  if (!res.ok) { clear(main, pageHeader(t('vouchers.title')), notAvailable(t('vouchers.unavailable'))); return; }
  const names = await programNames();
  const list = h('div.voucher-list');
  clear(main, pageHeader(t('vouchers.title'), h('a.button', { href: '#/match' }, t('nav.match'))), list);
  await pager(list, async (cursor) => (cursor ? get('/v1/vouchers', { limit: 50, cursor }) : res.value),
    (items) => h('div.cards', items.map((v) => voucherCard(v, names))), t('vouchers.empty'));
}

function voucherCard(v, names) {
  const tokenHost = h('div.token-host');
  const show = h('button.secondary', { type: 'button', 'aria-expanded': 'false' }, t('vouchers.show_token'));
  show.addEventListener('click', async () => {
    if (show.getAttribute('aria-expanded') === 'true') {
      clear(tokenHost);
      show.setAttribute('aria-expanded', 'false');
      show.textContent = t('vouchers.show_token');
      return;
    }
    clear(tokenHost, loading());
    try {
      const token = v.token || (await get(`/v1/vouchers/${v.id}`)).token;
      if (!token) { clear(tokenHost, empty(t('vouchers.no_token'))); return; }
      const tid = `tok-${v.id}`;
      clear(tokenHost,
        h('label', { for: tid }, t('vouchers.token')),
        h('textarea.token', { id: tid, readonly: true, rows: 3 }, token),
        h('div.actions', copyButton(token, t('vouchers.copy_token'))),
        await qrSvg(token));
      show.setAttribute('aria-expanded', 'true');
      show.textContent = t('vouchers.hide_token');
    } catch (e) {
      clear(tokenHost, problemBox(e));
    }
  });
  const program = names.get(v.program_id) || shortId(v.program_id);
  const title = t('vouchers.card_title', { amount: money(v.face_value_fen) });
  return h('article.card.voucher', { dataset: { id: v.id }, 'aria-label': `${t('vouchers.voucher')} ${title}` },
    h('div.voucher-head', h('h2', title), badge(v.status)),
    balanceBar(v.balance_fen, v.face_value_fen),
    h('dl.kv',
      h('dt', t('vouchers.program')), h('dd', program),
      h('dt', t('vouchers.balance')), h('dd.balance-value', money(v.balance_fen)),
      h('dt', t('vouchers.valid_from')), h('dd', timeEl(v.not_before)),
      h('dt', t('vouchers.expires')), h('dd', timeEl(v.expires_at)),
      h('dt', t('vouchers.id')), h('dd', h('code', v.id))),
    h('div.actions', show), tokenHost);
}

// ==== offer search ===========================================================================

const SORTS = ['price', '-price', 'tflops_per_fen', 'green_share', 'created_at'];

function offerFilterForm(regs, q, providers) {
  const opt = (list, prefix) => [['', t('common.any')], ...list.map((v) => [v, t(`${prefix}.${v}`)])];
  return h('form.card.filters', { role: 'search', 'aria-label': t('offers.filters'), novalidate: true },
    h('details.filter-box', { open: !matchMedia('(max-width: 720px)').matches || Object.keys(q).length > 0 }, h('summary', t('offers.filters')), h('div.grid',
      field({ name: 'resource_class', label: t('offer.resource_class'), type: 'select', options: opt(CLASSES, 'class'), value: q.resource_class || '' }),
      field({ name: 'accelerator', label: t('offer.accelerator'), value: q.accelerator, placeholder: 'H100' }),
      checkGroup({ name: 'region', label: t('offer.region'), options: regs.map((r) => [r.code, regionLabel(r.code)]), value: (q.region || '').split(',').filter(Boolean) }),
      field({ name: 'zone', label: t('offer.zone'), type: 'select', options: opt(ZONES, 'zone'), value: q.zone || '' }),
      field({ name: 'min_units', label: t('offers.min_units'), type: 'number', min: 1, value: q.min_units }),
      field({ name: 'min_tflops', label: t('offers.min_tflops'), type: 'number', min: 0, step: 'any', value: q.min_tflops }),
      moneyField({ name: 'max_price_fen', label: t('offers.max_price'), fen: q.max_price_fen || undefined }),
      field({ name: 'min_green_share', label: t('offers.min_green'), type: 'number', min: 0, max: 100, step: 'any', value: shareToPercent(q.min_green_share) }),
      field({ name: 'max_pue', label: t('offers.max_pue'), type: 'number', min: 1, max: 3, step: 0.01, value: q.max_pue }),
      field({ name: 'available_from', label: t('offers.available_from'), type: 'datetime-local', value: q.available_from ? localInput(new Date(q.available_from)) : '', hint: t('offers.window_hint') }),
      field({ name: 'available_until', label: t('offers.available_until'), type: 'datetime-local', value: q.available_until ? localInput(new Date(q.available_until)) : '' }),
      providers.size
        ? field({ name: 'provider_id', label: t('offer.provider'), type: 'select', options: [['', t('common.any')], ...[...providers].map(([id, n]) => [id, n])], value: q.provider_id || '' })
        : field({ name: 'provider_id', label: t('offers.provider_id'), value: q.provider_id, placeholder: 'UUID' }),
      field({ name: 'status', label: t('offer.status'), type: 'select', options: [['', t('status.active')], ['paused', t('status.paused')], ['withdrawn', t('status.withdrawn')]], value: q.status || '' }),
      field({ name: 'sort', label: t('offers.sort'), type: 'select', options: [['', t('offers.sort_default')], ...SORTS.map((s) => [s, t(`sort.${s}`)])], value: q.sort || '' }))),
    h('div.actions', h('button', { type: 'submit' }, t('offers.search')), h('a.button.secondary', { href: '#/offers' }, t('common.reset'))));
}

// Form values → the API's query parameters (money in fen, shares 0–1, times RFC 3339).
function offerQuery(v) {
  const q = {};
  for (const k of ['resource_class', 'accelerator', 'zone', 'min_units', 'min_tflops', 'max_pue', 'provider_id', 'status', 'sort'])
    if (v[k]) q[k] = v[k];
  if (v.region && v.region.length) q.region = v.region.join(',');
  if (v.max_price_fen) q.max_price_fen = parseYuan(v.max_price_fen) ?? v.max_price_fen;
  if (v.min_green_share !== '') q.min_green_share = String(percentToShare(v.min_green_share));
  if (v.available_from) q.available_from = fromLocalInput(v.available_from);
  if (v.available_until) q.available_until = fromLocalInput(v.available_until);
  return q;
}

export function offerColumns(providers, extra = []) {
  return [
    { label: t('offer.accelerator'), head: true, cell: (o) => h('span', h('strong', o.accelerator), h('br'), h('span.muted', `${t(`class.${o.resource_class}`)} · ${num(o.memory_gib_per_unit)} GiB`)) },
    { label: t('offer.region'), cell: (o) => h('span', regionLabel(o.region), h('br'), h('span.muted', t(`zone.${o.zone}`))) },
    { label: t('offer.provider'), cell: (o) => idCell(o.provider_id, providers) },
    { label: t('offer.units'), num: true, cell: (o) => (o.free_units !== undefined ? t('offers.free_of', { free: num(o.free_units), units: num(o.units) }) : num(o.units)) },
    { label: t('offer.tflops_short'), num: true, cell: (o) => num(o.fp16_tflops_per_unit, 1) },
    { label: t('offer.price'), num: true, cell: (o) => money(o.price_fen_per_unit_hour) },
    { label: t('offer.green'), num: true, cell: (o) => share(o.green_share) },
    { label: t('offer.pue'), num: true, cell: (o) => num(o.pue, 2) },
    { label: t('offer.window'), cell: (o) => h('span', timeEl(o.available_from, false), h('br'), '– ', timeEl(o.available_until, false)) },
    { label: t('offer.status'), cell: (o) => badge(o.status) },
    ...extra,
  ];
}

export async function offers(main, { me, query, navigate }) {
  const [regs, providers] = await Promise.all([regions(), orgNames('provider')]);
  const form = offerFilterForm(regs, query, providers);
  const results = h('div.results', { 'aria-live': 'polite' });
  const reserve = me.role === 'institute'
    ? [{ label: t('common.actions'), cell: (o) => (o.status === 'active'
      ? h('a.button.small', { href: `#/reserve?offer_id=${o.id}`, 'aria-label': `${t('offers.reserve')} ${o.accelerator} ${regionLabel(o.region)}` }, t('offers.reserve')) : '') }]
    : [];
  clear(main, pageHeader(t('offers.title')), form, results);
  onSubmit(form, async (v) => { navigate('offers', offerQuery(v)); });
  const q = { ...query };
  delete q.limit;
  try {
    const first = await get('/v1/offers', { ...q, limit: 20 });
    let page = 1;
    const show = (data) => {
      clear(results,
        table(offerColumns(providers, reserve), data.items || [], { caption: t('offers.results_caption', { page }) }),
        !(data.items || []).length ? empty(t('offers.empty')) : null);
      const nav = h('div.pager');
      if (data.next_cursor) {
        nav.append(h('button.secondary', { type: 'button', on: { click: async (ev) => {
          ev.target.disabled = true;
          try {
            const next = await get('/v1/offers', { ...q, limit: 20, cursor: data.next_cursor });
            page += 1;
            show(next);
            results.querySelector('caption').focus();
          } catch (e) { results.append(problemBox(e)); }
        } } }, t('common.next_page')));
      }
      if (page > 1) nav.prepend(h('a.button.secondary', { href: `#/offers?${new URLSearchParams(q)}`, on: { click: () => { setTimeout(() => navigate('offers', q)); } } }, t('common.first_page')));
      results.append(nav);
      const cap = results.querySelector('caption');
      if (cap) cap.setAttribute('tabindex', '-1');
    };
    show(first);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.slug === 'invalid-query') showProblem(form, e, { region: 'region' });
    else clear(results, problemBox(e));
  }
}

// ==== match ==================================================================================

const MATCH_SORTS = ['net_cost', 'tflops_per_fen', 'green_share', 'earliest_start'];

async function myActiveVouchers() {
  const r = await optional(() => get('/v1/vouchers', { limit: 200 }));
  return r.ok ? (r.value.items || []).filter((v) => v.status === 'active') : [];
}

function voucherChoices(list, names, selected = []) {
  if (!list.length) return h('p.muted', t('match.no_vouchers'));
  return h('fieldset.vouchers-pick', h('legend', t('match.apply_vouchers')),
    list.map((v) => {
      const id = `vpick-${v.id}`;
      return h('div.field-check', h('input', { type: 'checkbox', id, name: 'voucher_ids', value: v.id, checked: selected.includes(v.id) }),
        h('label', { for: id }, `${t('vouchers.card_title', { amount: money(v.face_value_fen) })} (${names.get(v.program_id) || shortId(v.program_id)}) — ${t('vouchers.balance')} ${money(v.balance_fen)}`));
    }));
}

export async function match(main, ctx) {
  const [regs, myVouchers, names] = await Promise.all([regions(), myActiveVouchers(), programNames()]);
  const now = new Date();
  now.setMinutes(0, 0, 0);
  now.setHours(now.getHours() + 1);
  const later = new Date(now.getTime() + 24 * 3600000);
  const opt = (list, prefix) => [['', t('common.any')], ...list.map((v) => [v, t(`${prefix}.${v}`)])];
  const fixedBox = h('div.grid.window-fixed',
    field({ name: 'start', label: t('match.start'), type: 'datetime-local', value: localInput(now), required: true }),
    field({ name: 'end', label: t('match.end'), type: 'datetime-local', value: localInput(later), required: true }));
  const flexBox = h('div.grid.window-flex',
    field({ name: 'duration_hours', label: t('match.duration'), type: 'number', min: 1, value: 24 }),
    field({ name: 'earliest_start', label: t('match.earliest'), type: 'datetime-local', value: localInput(now) }),
    field({ name: 'latest_end', label: t('match.latest'), type: 'datetime-local', value: localInput(new Date(now.getTime() + 7 * 24 * 3600000)) }));
  flexBox.hidden = true;
  const modeId = 'mode';
  const mode = h('fieldset.mode', h('legend', t('match.window')),
    h('div.field-check', h('input', { type: 'radio', name: 'mode', id: `${modeId}-fixed`, value: 'fixed', checked: true }), h('label', { for: `${modeId}-fixed` }, t('match.fixed'))),
    h('div.field-check', h('input', { type: 'radio', name: 'mode', id: `${modeId}-flex`, value: 'flex' }), h('label', { for: `${modeId}-flex` }, t('match.flexible'))));
  mode.addEventListener('change', () => {
    const flex = mode.querySelector('input:checked').value === 'flex';
    flexBox.hidden = !flex;
    fixedBox.hidden = flex;
  });
  const form = h('form.card', { novalidate: true, 'aria-label': t('match.demand') },
    h('h2', t('match.demand')),
    h('div.grid',
      field({ name: 'resource_class', label: t('offer.resource_class'), type: 'select', options: CLASSES.map((c) => [c, t(`class.${c}`)]), value: 'gpu', required: true }),
      field({ name: 'accelerator', label: t('offer.accelerator'), placeholder: 'H100' }),
      field({ name: 'units', label: t('match.units'), type: 'number', min: 1, value: 8, required: true }),
      field({ name: 'min_tflops', label: t('offers.min_tflops'), type: 'number', min: 0, step: 'any' })),
    mode, fixedBox, flexBox,
    h('div.grid',
      checkGroup({ name: 'regions', label: t('match.regions'), options: regs.map((r) => [r.code, regionLabel(r.code)]), hint: t('match.regions_hint') }),
      field({ name: 'zone', label: t('offer.zone'), type: 'select', options: opt(ZONES, 'zone') }),
      moneyField({ name: 'max_price_fen', label: t('offers.max_price') }),
      field({ name: 'min_green_share', label: t('offers.min_green'), type: 'number', min: 0, max: 100, step: 'any' }),
      field({ name: 'max_pue', label: t('offers.max_pue'), type: 'number', min: 1, max: 3, step: 0.01 }),
      field({ name: 'sort', label: t('match.rank_by'), type: 'select', options: MATCH_SORTS.map((s) => [s, t(`msort.${s}`)]) }),
      field({ name: 'allow_split', label: t('match.allow_split'), type: 'checkbox', hint: t('match.allow_split_hint') })),
    voucherChoices(myVouchers, names, myVouchers.map((v) => v.id)),
    h('div.actions', h('button', { type: 'submit' }, t('match.find'))));
  const results = h('div.results', { 'aria-live': 'polite' });
  clear(main, pageHeader(t('match.title')), h('p.lede', t('match.lede')), form, results);
  onSubmit(form, async (v) => {
    const demand = { resource_class: v.resource_class, units: Number(v.units) };
    if (v.accelerator) demand.accelerator = v.accelerator;
    if (v.min_tflops) demand.min_tflops = Number(v.min_tflops);
    if (form.querySelector('input[name=mode]:checked').value === 'flex') {
      demand.duration_hours = Number(v.duration_hours);
      demand.earliest_start = fromLocalInput(v.earliest_start);
      demand.latest_end = fromLocalInput(v.latest_end);
    } else {
      demand.start = fromLocalInput(v.start);
      demand.end = fromLocalInput(v.end);
    }
    if (v.regions.length) demand.regions = v.regions;
    if (v.zone) demand.zone = v.zone;
    if (v.max_price_fen) {
      const fen = parseYuan(v.max_price_fen);
      if (fen === null) { showProblem(form, { problem: { errors: [{ field: 'max_price_fen', message: t('common.bad_amount') }] } }); return; }
      demand.max_price_fen = Number(fen);
    }
    if (v.min_green_share !== '') demand.min_green_share = percentToShare(v.min_green_share);
    if (v.max_pue) demand.max_pue = Number(v.max_pue);
    demand.allow_split = v.allow_split;
    demand.sort = v.sort;
    const picked = [...form.querySelectorAll('input[name=voucher_ids]:checked')].map((c) => c.value);
    if (picked.length) demand.voucher_ids = picked;
    for (const k of ['start', 'end', 'earliest_start', 'latest_end'])
      if (k in demand && !demand[k]) { showProblem(form, { problem: { errors: [{ field: k, message: t('common.required') }] } }); return; }
    clear(results, loading());
    const res = await post('/v1/match', demand).catch((e) => { clear(results); throw e; });
    renderPlans(results, res, demand, picked);
  });
}

function renderPlans(host, res, demand, picked) {
  const plans = res.items || [];
  if (!plans.length) {
    const ex = res.excluded || {};
    clear(host, h('section.card', { 'aria-labelledby': 'noplan-h' },
      h('h2', { id: 'noplan-h' }, t('match.no_plans')),
      Object.keys(ex).length ? h('ul', Object.entries(ex).filter(([k, n]) => k !== 'active_offers' && n > 0)
        .map(([k, n]) => h('li', t('match.excluded_by', { n, what: t(`match.constraint.${k}`, null, true) || k })))) : null,
      ex.active_offers !== undefined ? h('p.muted', t('match.active_offers', { n: ex.active_offers })) : null));
    host.querySelector('h2').setAttribute('tabindex', '-1');
    host.querySelector('h2').focus();
    return;
  }
  clear(host, h('h2', { tabindex: '-1', id: 'plans-h' }, t('match.plans', { n: plans.length })),
    h('ol.plans', plans.map((p) => h('li.card.plan', { dataset: { rank: p.rank } },
      h('div.plan-head', h('h3', t('match.plan_rank', { rank: p.rank })), p.split ? h('span.badge', t('match.split')) : null),
      costSummary(p),
      table([
        { label: t('offer.accelerator'), head: true, cell: (l) => l.accelerator },
        { label: t('offer.region'), cell: (l) => regionLabel(l.region) },
        { label: t('match.units'), num: true, cell: (l) => num(l.units) },
        { label: t('match.start'), cell: (l) => timeEl(l.start) },
        { label: t('match.end'), cell: (l) => timeEl(l.end) },
        { label: t('offer.price'), num: true, cell: (l) => money(l.price_fen_per_unit_hour) },
        { label: t('cost.gross'), num: true, cell: (l) => money(l.gross_fen) },
        { label: t('cost.subsidy'), num: true, cell: (l) => money(l.subsidy_fen) },
      ], p.legs || [], { caption: t('match.legs') }),
      h('details.reasons', { open: true }, h('summary', t('match.why')), h('ul', reasons(p, plans.length, demand).map((r) => h('li', r)))),
      h('div.actions', h('button', { type: 'button', on: { click: () => reservePlan(p, demand, picked) } },
        t('match.reserve_plan', { rank: p.rank })))))));
  host.querySelector('#plans-h').focus();
}

// Why a plan ranks where it does, in the user's language and in CNY (the server's reasons
// speak fen): the ranking key, the cost arithmetic, availability, and the efficiency figures.
function reasons(p, n, demand) {
  const out = [
    t('match.r.rank', { rank: p.rank, n, by: lang() === 'en' ? t(`msort.${demand.sort || 'net_cost'}`).toLowerCase() : t(`msort.${demand.sort || 'net_cost'}`) }),
    t('match.r.cost', { net: money(p.net_fen), gross: money(p.gross_fen), subsidy: money(p.subsidy_fen) }),
    p.split
      ? t('match.r.split', { n: (p.legs || []).length, units: demand.units })
      : t('match.r.single', { free: num((p.legs || [])[0]?.free_units), units: demand.units, start: dateTime(p.start) }),
  ];
  const perYuan = p.tflops_hours_per_fen !== null && p.tflops_hours_per_fen !== undefined ? num(Number(p.tflops_hours_per_fen) * 100, 1) : null;
  out.push(t('match.r.efficiency', { green: share(p.green_share), tflops: perYuan ?? '∞' }));
  if (BigInt(p.subsidy_fen || 0) === 0n && (demand.voucher_ids || []).length) out.push(t('match.r.no_subsidy'));
  return out;
}

export function costSummary(o, label) {
  return h('dl.cost', { 'aria-label': label || t('cost.label') },
    h('div', h('dt', t('cost.gross')), h('dd.gross', money(o.gross_fen))),
    h('div', h('dt', t('cost.subsidy')), h('dd.subsidy', money(o.subsidy_fen))),
    h('div.net', h('dt', t('cost.net')), h('dd.net-value', money(o.net_fen))));
}

function reservePlan(plan, demand, picked) {
  sessionStorage.setItem('suanli.plan', JSON.stringify({ legs: plan.legs, vouchers: picked }));
  location.hash = '#/reserve?plan=1';
}

// ==== reserve =================================================================================

export async function reserve(main, { query, navigate }) {
  let legs;
  let picked = [];
  if (query.plan) {
    const saved = JSON.parse(sessionStorage.getItem('suanli.plan') || 'null');
    if (!saved) { navigate('match'); return; }
    legs = saved.legs;
    picked = saved.vouchers || [];
  } else if (query.offer_id) {
    const offer = await get(`/v1/offers/${encodeURIComponent(query.offer_id)}`);
    const start = new Date();
    start.setMinutes(0, 0, 0);
    start.setHours(start.getHours() + 1);
    const from = new Date(Math.max(start, new Date(offer.available_from)));
    legs = [{ offer_id: offer.id, units: 1, start: from.toISOString(), end: new Date(from.getTime() + 24 * 3600000).toISOString(), offer }];
  } else {
    navigate('offers');
    return;
  }
  const [myVouchers, names] = await Promise.all([myActiveVouchers(), programNames()]);
  for (const l of legs) if (!l.offer) l.offer = await get(`/v1/offers/${l.offer_id}`);
  const editable = legs.length === 1;
  const l0 = legs[0];
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'res-h' },
    h('h2', { id: 'res-h' }, t('reserve.what')),
    table(offerColumns(new Map()).slice(0, 9).filter((c, i) => i !== 2), legs.map((l) => l.offer), { caption: t('reserve.offers') }),
    editable ? h('div.grid',
      field({ name: 'units', label: t('match.units'), type: 'number', min: 1, max: l0.offer.units, value: l0.units, required: true }),
      field({ name: 'start', label: t('match.start'), type: 'datetime-local', value: localInput(new Date(l0.start)), required: true }),
      field({ name: 'end', label: t('match.end'), type: 'datetime-local', value: localInput(new Date(l0.end)), required: true }))
      : h('ul', legs.map((l) => h('li', t('reserve.leg', { units: l.units, accel: l.offer.accelerator, region: regionLabel(l.offer.region), start: dateTime(l.start), end: dateTime(l.end) })))),
    voucherChoices(myVouchers, names, picked),
    myVouchers.length ? moneyField({ name: 'amount', label: t('reserve.amount'), hint: t('reserve.amount_hint') }) : null,
    h('div.preview', { 'aria-live': 'polite' }),
    h('div.actions', h('button.secondary', { type: 'button', id: 'preview-btn' }, t('reserve.preview')), h('button', { type: 'submit' }, t('reserve.confirm'))));
  const result = h('div.result', { 'aria-live': 'polite' });
  clear(main, pageHeader(t('reserve.title')), form, result);

  // The legs as the form now says, and the vouchers to apply.
  const current = () => {
    const v = values(form);
    const ls = editable ? [{ ...l0, units: Number(v.units), start: fromLocalInput(v.start), end: fromLocalInput(v.end) }] : legs;
    const ids = [...form.querySelectorAll('input[name=voucher_ids]:checked')].map((c) => c.value);
    return { ls, ids, amount: v.amount ? parseYuan(v.amount) : null, amountText: v.amount };
  };
  // Gross is exact arithmetic on the offer's price; the subsidy is what the server's match
  // (the same programme rules as redemption) says the chosen vouchers pay on that offer. Each
  // voucher's share is the increase its addition brings, so the order names only vouchers that
  // pay, each with its exact amount; an amount typed by the user caps the total.
  async function subsidyOf(l, ids) {
    if (!ids.length) return 0n;
    const m = await post('/v1/match', { resource_class: l.offer.resource_class, accelerator: l.offer.accelerator, units: l.units,
      start: l.start, end: l.end, regions: [l.offer.region], voucher_ids: ids, limit: 50 });
    const leg = (m.items || []).filter((p) => !p.split).flatMap((p) => p.legs || []).find((x) => x.offer_id === l.offer_id);
    return leg ? BigInt(leg.subsidy_fen) : 0n;
  }
  async function preview() {
    const { ls, ids, amount, amountText } = current();
    if (amountText && amount === null) throw { problem: { errors: [{ field: 'amount', message: t('common.bad_amount') }] } };
    const left = new Map(myVouchers.map((v) => [v.id, BigInt(v.balance_fen)]));
    let cap = amount === null ? null : BigInt(amount);
    let gross = 0n, subsidy = 0n;
    const alloc = [];
    for (const l of ls) {
      const g = grossFen(l.units, l.start, l.end, l.offer.price_fen_per_unit_hour);
      if (g === null) throw { problem: { errors: [{ field: 'end', message: t('reserve.end_after_start') }] } };
      gross += BigInt(g);
      const legAlloc = [];
      let before = 0n;
      for (let i = 0; i < ids.length; i++) {
        const after = await subsidyOf(l, ids.slice(0, i + 1));
        let share = after - before;
        before = after;
        share = share < left.get(ids[i]) ? share : left.get(ids[i]);
        if (cap !== null && share > cap) share = cap;
        if (share <= 0n) continue;
        left.set(ids[i], left.get(ids[i]) - share);
        if (cap !== null) cap -= share;
        legAlloc.push({ voucher_id: ids[i], amount_fen: Number(share) });
        subsidy += share;
      }
      alloc.push(legAlloc);
    }
    return { gross_fen: gross.toString(), subsidy_fen: subsidy.toString(), net_fen: (gross - subsidy).toString(), alloc };
  }
  const previewHost = form.querySelector('.preview');
  const showPreview = async () => {
    try {
      const p = await preview();
      clearErrors(form);
      clear(previewHost, h('h3', t('reserve.estimate')), costSummary(p, t('reserve.estimate')));
      return p;
    } catch (e) {
      showProblem(form, e);
      return null;
    }
  };
  form.querySelector('#preview-btn').addEventListener('click', showPreview);
  await showPreview();
  onSubmit(form, async () => {
    const p = await showPreview();
    if (!p) return;
    const ok = await confirmDialog(t('reserve.confirm_title'), [
      h('p', t('reserve.confirm_text')), costSummary(p, t('reserve.estimate'))], t('reserve.confirm'));
    if (!ok) return;
    const { ls } = current();
    const orders = [];
    for (const [i, l] of ls.entries()) {
      const body = { offer_id: l.offer_id, units: l.units, start: l.start, end: l.end };
      if (p.alloc[i].length) body.vouchers = p.alloc[i];
      orders.push(await post('/v1/orders', body, { idempotent: true }));
    }
    sessionStorage.removeItem('suanli.plan');
    const total = (k) => orders.reduce((s, o) => s + BigInt(o[k]), 0n).toString();
    clear(result, h('section.card.success', { 'aria-labelledby': 'done-h' },
      h('h2', { id: 'done-h', tabindex: '-1' }, t('reserve.done')),
      costSummary({ gross_fen: total('gross_fen'), subsidy_fen: total('subsidy_fen'), net_fen: total('net_fen') }, t('reserve.charged')),
      h('ul', orders.map((o) => h('li', h('code', o.id), ' ', badge(o.status)))),
      h('div.actions', h('a.button', { href: '#/orders' }, t('nav.orders')), h('a.button.secondary', { href: '#/vouchers' }, t('nav.vouchers')))));
    form.hidden = true;
    result.querySelector('h2').focus();
    flash(t('reserve.done'));
  });
}

// ==== orders ===================================================================================

export async function orders(main, { query, navigate }) {
  const status = query.status || '';
  const filter = h('form.inline-filter', { 'aria-label': t('orders.filter') },
    field({ name: 'status', label: t('offer.status'), type: 'select', value: status,
      options: [['', t('common.all')], ...['reserved', 'completed', 'cancelled'].map((s) => [s, t(`status.${s}`)])] }),
    h('button.secondary', { type: 'submit' }, t('common.apply')));
  onSubmit(filter, async (v) => navigate('orders', { status: v.status }));
  const list = h('div');
  clear(main, pageHeader(t('orders.title'), h('a.button', { href: '#/match' }, t('nav.match'))), filter, list);
  const offersById = new Map();
  await pager(list, (cursor) => get('/v1/orders', { status, cursor, limit: 50 }), (items) => {
    const tb = table([
      { label: t('orders.created'), head: true, cell: (o) => timeEl(o.created_at) },
      { label: t('orders.offer'), cell: (o) => h('span.offer-cell', { dataset: { offer: o.offer_id } }, h('code.id', shortId(o.offer_id))) },
      { label: t('match.units'), num: true, cell: (o) => num(o.units) },
      { label: t('orders.window'), cell: (o) => h('span', timeEl(o.start), ' – ', timeEl(o.end)) },
      { label: t('cost.gross'), num: true, cell: (o) => money(o.gross_fen) },
      { label: t('cost.subsidy'), num: true, cell: (o) => money(o.subsidy_fen) },
      { label: t('cost.net'), num: true, cell: (o) => money(o.net_fen) },
      { label: t('offer.status'), cell: (o) => badge(o.status) },
      { label: t('common.actions'), cell: (o) => (o.status === 'reserved' ? cancelButton(o) : '') },
    ], items, { caption: t('orders.title'), rowKey: (o) => o.id });
    fillOfferCells(tb, items, offersById);
    return tb;
  }, t('orders.empty'));
}

// Replaces offer ids by "H100 · Ningxia" once the offers are read.
export async function fillOfferCells(root, items, cache) {
  for (const id of new Set(items.map((o) => o.offer_id))) {
    if (!cache.has(id)) cache.set(id, get(`/v1/offers/${id}`).catch(() => null));
    const o = await cache.get(id);
    if (o) root.querySelectorAll(`[data-offer="${id}"]`).forEach((c) => clear(c, `${o.accelerator} · ${regionLabel(o.region)}`));
  }
}

function cancelButton(order) {
  const b = h('button.small.danger', { type: 'button', 'aria-label': `${t('orders.cancel')} ${shortId(order.id)}` }, t('orders.cancel'));
  b.addEventListener('click', async () => {
    const ok = await confirmDialog(t('orders.cancel_title'), [
      h('p', t('orders.cancel_text')),
      h('dl.cost', h('div', h('dt', t('orders.refund')), h('dd', money(order.subsidy_fen))))], t('orders.cancel'), { danger: true });
    if (!ok) return;
    b.disabled = true;
    const cell = b.parentElement;
    try {
      const res = await post(`/v1/orders/${order.id}/cancel`, undefined, { idempotent: true });
      const row = b.closest('tr');
      row.querySelector('.badge').replaceWith(badge(res.status));
      // the order as it is now: its subsidy went back to the vouchers
      row.querySelector(`[data-label="${t('cost.subsidy')}"]`).textContent = money(res.subsidy_fen);
      row.querySelector(`[data-label="${t('cost.net')}"]`).textContent = money(res.net_fen);
      clear(cell, h('span.refund', t('orders.refunded', { amount: money(order.subsidy_fen) })));
      flash(t('orders.cancelled', { amount: money(order.subsidy_fen) }));
    } catch (e) {
      b.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      cell.append(problemBox(e));
    }
  });
  return b;
}

// ==== redemptions ===============================================================================

export async function redemptions(main) {
  const list = h('div');
  clear(main, pageHeader(t('redemptions.title')), list);
  const first = await optional(() => get('/v1/redemptions', { limit: 50 }));
  if (!first.ok) { clear(list, notAvailable(t('redemptions.unavailable'))); return; }
  const names = await programNames();
  await pager(list, (cursor) => (cursor ? get('/v1/redemptions', { limit: 50, cursor }) : first.value), (items) => table([
    { label: t('redemptions.at'), head: true, cell: (r) => timeEl(r.created_at || r.at) },
    { label: t('redemptions.voucher'), cell: (r) => h('code.id', { title: r.voucher_id }, shortId(r.voucher_id)) },
    { label: t('nav.programs'), cell: (r) => (r.program_id ? idCell(r.program_id, names) : '—') },
    { label: t('redemptions.order'), cell: (r) => h('code.id', { title: r.order_id }, shortId(r.order_id)) },
    { label: t('redemptions.amount'), num: true, cell: (r) => money(r.amount_fen) },
    { label: t('offer.status'), cell: (r) => badge(r.status || (r.reversed_at ? 'reversed' : 'applied')) },
  ], items, { caption: t('redemptions.title') }), t('redemptions.empty'));
}

