// Matching: a demand in, the server's ranked plans out, each with its reasons; a plan goes
// on to the reserve page.
import { get, post } from '../../api.js';
import { t, lang } from '../../i18n.js';
import { h, clear, money, parseYuan, share, num, dateTime, timeEl, loading, table, field, checkGroup, moneyField, onSubmit, showProblem, localInput, fromLocalInput } from '../../ui.js';
import { CLASSES, ZONES, regions, regionLabel, shortId, pageHeader, percentToShare, optional } from '../common.js';
import { programNames } from './vouchers.js';

const MATCH_SORTS = ['net_cost', 'tflops_per_fen', 'green_share', 'earliest_start'];

export async function myActiveVouchers() {
  const r = await optional(() => get('/v1/vouchers', { limit: 200 }));
  return r.ok ? (r.value.items || []).filter((v) => v.status === 'active') : [];
}

export function voucherChoices(list, names, selected = []) {
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
