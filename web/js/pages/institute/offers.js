// Offer search (every role that may reserve or oversee): every filter and sort of
// GET /v1/offers, pages, and a "Reserve" link for institutes.
import { get, ApiError } from '../../api.js';
import { t } from '../../i18n.js';
import { h, clear, money, parseYuan, share, num, timeEl, badge, empty, problemBox, table, field, checkGroup, moneyField, onSubmit, showProblem, localInput, fromLocalInput } from '../../ui.js';
import { CLASSES, ZONES, regions, regionLabel, orgNames, idCell, pageHeader, percentToShare, shareToPercent } from '../common.js';

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
