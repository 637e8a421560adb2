// Provider pages: my offers (create, edit, pause, resume, withdraw), orders on them, and the
// utilisation of my capacity over time.
import { get, post, patch, del, all, ApiError } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, parseYuan, num, timeEl, badge, loading, problemBox, table,
  pager, field, moneyField, onSubmit, showProblem, flash, confirmDialog, section, localInput,
  fromLocalInput,
} from '../ui.js';
import { lineChart } from '../charts.js';
import { CLASSES, regions, regionLabel, shortId, pageHeader, percentToShare, shareToPercent } from './common.js';
import { offerColumns } from './institute/offers.js';
import { fillOfferCells } from './institute/orders.js';
import { usageLink } from './usage.js';

const STATUSES = ['active', 'paused', 'withdrawn'];

export async function offers(main, { me, query, navigate }) {
  const status = STATUSES.includes(query.status) ? query.status : 'active';
  const tabs = h('nav.tabs', { 'aria-label': t('provider.status_tabs') }, STATUSES.map((s) =>
    h('a', { href: `#/my-offers?status=${s}`, 'aria-current': s === status ? 'page' : null }, t(`status.${s}`))));
  const list = h('div');
  clear(main, pageHeader(t('provider.offers_title'), h('a.button', { href: '#/my-offers/new' }, t('provider.new_offer'))), tabs, list);
  await pager(list, (cursor) => get('/v1/offers', { provider_id: me.organization_id, status, limit: 50, cursor }),
    (items) => table(offerColumns(new Map(), [{ label: t('common.actions'), cell: (o) => offerActions(o, navigate) }]).filter((c) => c.label !== t('offer.provider')),
      items, { caption: t('provider.offers_caption', { status: t(`status.${status}`) }), rowKey: (o) => o.id }), t('provider.no_offers'));
}

function offerActions(o, navigate) {
  if (o.status === 'withdrawn') return '';
  const act = async (btn, fn, done) => {
    btn.disabled = true;
    try {
      const fresh = await get(`/v1/offers/${o.id}`);
      await fn(fresh.etag || `"${fresh.version}"`);
      flash(done);
      navigate('my-offers', { status: o.status });
    } catch (e) {
      btn.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      btn.parentElement.append(problemBox(e));
    }
  };
  const label = `${o.accelerator} ${regionLabel(o.region)}`;
  const pause = o.status === 'active'
    ? h('button.small.secondary', { type: 'button', 'aria-label': `${t('provider.pause')} ${label}` }, t('provider.pause'))
    : h('button.small.secondary', { type: 'button', 'aria-label': `${t('provider.resume')} ${label}` }, t('provider.resume'));
  pause.addEventListener('click', () => act(pause, (etag) => patch(`/v1/offers/${o.id}`, { status: o.status === 'active' ? 'paused' : 'active' }, etag),
    o.status === 'active' ? t('provider.paused') : t('provider.resumed')));
  const withdraw = h('button.small.danger', { type: 'button', 'aria-label': `${t('provider.withdraw')} ${label}` }, t('provider.withdraw'));
  withdraw.addEventListener('click', async () => {
    if (!(await confirmDialog(t('provider.withdraw_title'), h('p', t('provider.withdraw_text', { label })), t('provider.withdraw'), { danger: true }))) return;
    act(withdraw, (etag) => del(`/v1/offers/${o.id}`, etag), t('provider.withdrawn'));
  });
  return h('div.row-actions', h('a.button.small.secondary', { href: `#/my-offers/${o.id}/edit`, 'aria-label': `${t('common.edit')} ${label}` }, t('common.edit')), pause, withdraw);
}

export async function offerForm(main, { params, navigate }) {
  const editing = !!params.id;
  const o = editing ? await get(`/v1/offers/${params.id}`) : null;
  const regs = await regions();
  const from = new Date();
  from.setMinutes(0, 0, 0);
  const until = new Date(from);
  until.setMonth(until.getMonth() + 3);
  // Fixed at creation: class, accelerator, performance, memory and region (PATCH changes the rest).
  const fixed = editing ? null : h('div.grid',
    field({ name: 'resource_class', label: t('offer.resource_class'), type: 'select', options: CLASSES.map((c) => [c, t(`class.${c}`)]), required: true }),
    field({ name: 'accelerator', label: t('offer.accelerator'), required: true, placeholder: 'H100' }),
    field({ name: 'fp16_tflops_per_unit', label: t('offer.tflops'), type: 'number', min: 0, step: 'any', required: true }),
    field({ name: 'memory_gib_per_unit', label: t('provider.memory_gib'), type: 'number', min: 1, required: true }),
    field({ name: 'region', label: t('offer.region'), type: 'select', required: true, options: regs.map((r) => [r.code, `${regionLabel(r.code)} (${t(`zone.${r.zone}`)})`]) }));
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'of-h' },
    h('h2', { id: 'of-h' }, editing ? `${o.accelerator} · ${regionLabel(o.region)}` : t('provider.capacity')),
    fixed,
    h('div.grid',
      field({ name: 'units', label: t('offer.units'), type: 'number', min: 1, value: o ? o.units : '', required: true }),
      moneyField({ name: 'price_fen_per_unit_hour', label: t('offer.price'), fen: o ? o.price_fen_per_unit_hour : undefined, required: true }),
      field({ name: 'available_from', label: t('offers.available_from'), type: 'datetime-local', value: localInput(o ? new Date(o.available_from) : from), required: true }),
      field({ name: 'available_until', label: t('offers.available_until'), type: 'datetime-local', value: localInput(o ? new Date(o.available_until) : until), required: true }),
      field({ name: 'pue', label: t('offer.pue'), type: 'number', min: 1, max: 3, step: 0.01, value: o ? o.pue : '1.2', required: true }),
      field({ name: 'green_share', label: t('provider.green_pct'), type: 'number', min: 0, max: 100, step: 'any', value: o ? shareToPercent(o.green_share) : '50', required: true })),
    h('div.actions', h('button', { type: 'submit' }, editing ? t('common.save') : t('provider.publish')), h('a.button.secondary', { href: '#/my-offers' }, t('common.cancel'))));
  clear(main, pageHeader(editing ? t('provider.edit_offer') : t('provider.new_offer')), form);
  onSubmit(form, async (v) => {
    const price = parseYuan(v.price_fen_per_unit_hour);
    if (price === null) { showProblem(form, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'price_fen_per_unit_hour', message: t('common.bad_amount') }] } }); return; }
    const body = {
      units: Number(v.units),
      price_fen_per_unit_hour: Number(price),
      available_from: fromLocalInput(v.available_from),
      available_until: fromLocalInput(v.available_until),
      pue: Number(v.pue),
      green_share: percentToShare(v.green_share),
    };
    if (editing) {
      for (const k of Object.keys(body)) if (String(body[k]) === String(o[k]) || (k.startsWith('available') && new Date(body[k]).getTime() === new Date(o[k]).getTime())) delete body[k];
      if (!Object.keys(body).length) { navigate('my-offers', { status: o.status }); return; }
      await patch(`/v1/offers/${o.id}`, body, o.etag || `"${o.version}"`);
      flash(t('provider.saved'));
    } else {
      Object.assign(body, { resource_class: v.resource_class, accelerator: v.accelerator, fp16_tflops_per_unit: Number(v.fp16_tflops_per_unit), memory_gib_per_unit: Number(v.memory_gib_per_unit), region: v.region });
      await post('/v1/offers', body);
      flash(t('provider.published'));
    }
    navigate('my-offers', { status: o ? o.status : 'active' });
  });
}

export async function orders(main, { query, navigate }) {
  const status = query.status || '';
  const filter = h('form.inline-filter', { 'aria-label': t('orders.filter') },
    field({ name: 'status', label: t('offer.status'), type: 'select', value: status,
      options: [['', t('common.all')], ...['reserved', 'completed', 'cancelled'].map((s) => [s, t(`status.${s}`)])] }),
    h('button.secondary', { type: 'submit' }, t('common.apply')));
  onSubmit(filter, async (v) => navigate('offer-orders', { status: v.status }));
  const list = h('div');
  clear(main, pageHeader(t('provider.orders_title')), filter, list);
  const offersById = new Map();
  await pager(list, (cursor) => get('/v1/orders', { status, cursor, limit: 50 }), (items) => withOffers(table([
    { label: t('orders.created'), head: true, cell: (o) => timeEl(o.created_at) },
    { label: t('orders.offer'), cell: (o) => h('span.offer-cell', { dataset: { offer: o.offer_id } }, h('code.id', { title: o.offer_id }, shortId(o.offer_id))) },
    { label: t('match.units'), num: true, cell: (o) => num(o.units) },
    { label: t('orders.window'), cell: (o) => h('span', timeEl(o.start), ' – ', timeEl(o.end)) },
    { label: t('cost.gross'), num: true, cell: (o) => money(o.gross_fen) },
    { label: t('cost.subsidy'), num: true, cell: (o) => money(o.subsidy_fen) },
    { label: t('offer.status'), cell: (o) => badge(o.status) },
    { label: t('common.actions'), cell: (o) => (o.status === 'reserved' && new Date(o.start) <= new Date() ? completeButton(o) : usageLink(o)) },
  ], items, { caption: t('provider.orders_title') }), items, offersById), t('orders.empty'));
}

function withOffers(tb, items, cache) {
  fillOfferCells(tb, items, cache);
  return tb;
}

function completeButton(o) {
  const b = h('button.small', { type: 'button', 'aria-label': `${t('provider.complete')} ${shortId(o.id)}` }, t('provider.complete'));
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const res = await post(`/v1/orders/${o.id}/complete`);
      b.closest('tr').querySelector('.badge').replaceWith(badge(res.status));
      b.replaceWith(usageLink(res));
    } catch (e) {
      b.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      b.parentElement.append(problemBox(e));
    }
  });
  return b;
}

// Reserved unit-hours per day over capacity unit-hours per day, from 14 days back to 30 ahead.
export async function utilisation(main, { me }) {
  clear(main, pageHeader(t('provider.util_title')), loading());
  const [myOffers, myOrders] = await Promise.all([
    all('/v1/offers', { provider_id: me.organization_id }),
    all('/v1/orders', {}),
  ]);
  const day = 86400000;
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const t0 = start.getTime() - 14 * day;
  const days = 45;
  const cap = new Array(days).fill(0), used = new Array(days).fill(0);
  const overlap = (a0, a1, b0, b1) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
  for (let i = 0; i < days; i++) {
    const d0 = t0 + i * day, d1 = d0 + day;
    for (const o of myOffers) cap[i] += (o.units * overlap(d0, d1, Date.parse(o.available_from), Date.parse(o.available_until))) / 3600000;
    for (const r of myOrders) if (r.status !== 'cancelled') used[i] += (r.units * overlap(d0, d1, Date.parse(r.start), Date.parse(r.end))) / 3600000;
  }
  const data = cap.map((c, i) => {
    const d = new Date(t0 + i * day);
    return { label: `${d.getMonth() + 1}/${d.getDate()}`, value: c > 0 ? used[i] / c : 0, cap: c, used: used[i] };
  });
  const title = t('provider.util_chart');
  clear(main, pageHeader(t('provider.util_title')), h('p.lede', t('provider.util_lede')),
    section(title, lineChart(data, { title })),
    section(t('provider.util_table'), table([
      { label: t('provider.day'), head: true, cell: (d) => d.label },
      { label: t('provider.capacity_uh'), num: true, cell: (d) => num(d.cap) },
      { label: t('provider.reserved_uh'), num: true, cell: (d) => num(d.used, 1) },
      { label: t('provider.utilisation'), num: true, cell: (d) => `${num(d.value * 100, 1)} %` },
    ], data.filter((d) => d.cap > 0 || d.used > 0), { caption: t('provider.util_table') })));
}

