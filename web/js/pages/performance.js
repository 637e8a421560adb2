// The performance (绩效) page for administrators and auditors: what a programme's subsidy
// bought — delivered compute, the western and green shares, subsidy per PFLOP-day — from
// GET /v1/reports/performance, as key figures, charts (each a figure with its caption and a
// text alternative) and the monthly table they are drawn from, with a CSV download link.
import { get, all, ApiError } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, loading, empty, notAvailable, table, field, onSubmit, showProblem, section,
  localInput, fromLocalInput, num, share,
} from '../ui.js';
import { barChart, columnChart } from '../charts.js';
import { pageHeader } from './common.js';

const REPORT = '/v1/reports/performance';
const SCALE = 1000000n; // PFLOP-days have 6 decimals: charts draw them as integer millionths

// "1.102958" → 1102958n, exactly (the charts scale in BigInt).
function micro(decimal) {
  const [whole, frac = ''] = String(decimal ?? 0).split('.');
  return (BigInt(whole) * SCALE + BigInt(frac.padEnd(6, '0').slice(0, 6))).toString();
}
const pflop = (x) => num(x, 3);
const pflopMicro = (v) => num(Number(v) / 1e6, 3);
const hours = (x) => (x === null || x === undefined ? '—' : `${num(x, 1)} h`);

// [key, label key, format] of every measure, in the order of the report's CSV columns.
const MEASURES = [
  ['orders', 'perf.orders', (x) => num(x)],
  ['institutes_served', 'perf.institutes_served', (x) => num(x)],
  ['gpu_unit_hours', 'perf.gpu_unit_hours', (x) => num(x, 2)],
  ['npu_unit_hours', 'perf.npu_unit_hours', (x) => num(x, 2)],
  ['cpu_unit_hours', 'perf.cpu_unit_hours', (x) => num(x, 2)],
  ['pflop_days', 'perf.pflop_days', pflop],
  ['west_pflop_days', 'perf.west_pflop_days', pflop],
  ['west_share', 'perf.west_share', share],
  ['green_share', 'perf.green_share', share],
  ['subsidy_fen', 'perf.subsidy_fen', money],
  ['subsidy_per_pflop_day_fen', 'perf.subsidy_per_pflop_day_fen', money],
  ['paid_orders', 'perf.paid_orders', (x) => num(x)],
  ['payout_latency_median_hours', 'perf.payout_latency_median_hours', hours],
  ['payout_latency_max_hours', 'perf.payout_latency_max_hours', hours],
  ['recoveries', 'perf.recoveries', (x) => num(x)],
  ['recovered_fen', 'perf.recovered_fen', money],
];
const KEY_FIGURES = ['pflop_days', 'gpu_unit_hours', 'npu_unit_hours', 'west_share', 'green_share',
  'subsidy_per_pflop_day_fen', 'institutes_served', 'payout_latency_median_hours', 'recoveries', 'recovered_fen'];

function keyFigures(totals) {
  return h('dl.kv.figures', { id: 'perf-figures' }, KEY_FIGURES.flatMap((k) => {
    const [, label, format] = MEASURES.find((m) => m[0] === k);
    return [h('dt', t(label)), h('dd', { dataset: { measure: k } }, format(totals[k]))];
  }));
}

// A chart with a visible caption that states what it shows (the table below has every figure).
function figure(chart, caption, id) {
  chart.id = id;
  chart.append(h('figcaption', caption));
  return chart;
}

function charts(res) {
  const items = res.items || [];
  const tot = res.totals;
  const host = h('div.chart-grid');
  if (!items.length) return empty(t('perf.empty'));
  const months = items.map((it) => ({ label: it.month, value: micro(it.pflop_days) }));
  const monthsText = months.map((m) => `${m.label} ${pflopMicro(m.value)}`).join('; ');
  host.append(h('div.chart-box', figure(
    columnChart(months, { title: `${t('perf.chart.months')}: ${monthsText}`, format: pflopMicro }),
    t('perf.chart.months'), 'perf-chart-months')));
  const west = BigInt(micro(tot.west_pflop_days));
  const zones = [
    { label: t('zone.west'), value: west.toString() },
    { label: t('zone.east'), value: (BigInt(micro(tot.pflop_days)) - west).toString() },
  ];
  const zonesText = zones.map((z) => `${z.label} ${pflopMicro(z.value)}`).join('; ');
  host.append(h('div.chart-box', figure(
    barChart(zones, { title: `${t('perf.chart.zones')}: ${zonesText}`, format: pflopMicro }),
    `${t('perf.chart.zones')} — ${t('perf.west_share')} ${share(tot.west_share)}`, 'perf-chart-zones')));
  const subsidy = items.filter((it) => it.subsidy_per_pflop_day_fen !== null)
    .map((it) => ({ label: it.month, value: String(it.subsidy_per_pflop_day_fen) }));
  if (subsidy.length) {
    const text = subsidy.map((s) => `${s.label} ${money(s.value)}`).join('; ');
    host.append(h('div.chart-box', figure(
      columnChart(subsidy, { title: `${t('perf.chart.subsidy')}: ${text}`, format: money }),
      t('perf.chart.subsidy'), 'perf-chart-subsidy')));
  }
  return host;
}

function monthTable(res) {
  const rows = [...(res.items || []), { month: null, ...res.totals }];
  return table([
    { label: t('reports.col.month'), head: true, cell: (r) => r.month ?? t('reports.total') },
    ...MEASURES.map(([k, label, format]) => ({ label: t(label), num: true, cell: (r) => format(r[k]) })),
  ], rows, { caption: t('perf.table'), rowKey: (r) => r.month ?? 'total' });
}

function csvHref(q) {
  const p = new URLSearchParams(Object.entries({ ...q, format: 'csv' }).filter(([, v]) => v));
  return `${REPORT}?${p}`;
}

export async function performance(main, { query, navigate }) {
  let programmes = [];
  try {
    programmes = await all('/v1/programs', {});
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  const form = h('form.card.filters', { novalidate: true, 'aria-label': t('perf.filters') },
    h('div.grid',
      field({ name: 'program_id', label: t('perf.programme'), type: 'select', value: query.program_id || '',
        options: [['', t('perf.all_programmes')], ...programmes.map((p) => [p.id, p.name])] }),
      field({ name: 'from', label: t('audit.from'), type: 'datetime-local', value: query.from ? localInput(new Date(query.from)) : '' }),
      field({ name: 'to', label: t('audit.to'), type: 'datetime-local', value: query.to ? localInput(new Date(query.to)) : '' })),
    h('div.actions', h('button', { type: 'submit' }, t('reports.show'))));
  onSubmit(form, async (v) => navigate('performance', { program_id: v.program_id, from: fromLocalInput(v.from), to: fromLocalInput(v.to) }));
  const q = { program_id: query.program_id, from: query.from, to: query.to };
  const body = h('div', loading());
  clear(main, pageHeader(t('perf.title')), h('p.lede', t('perf.lede')), form, body);
  let res;
  try {
    res = await get(REPORT, q);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.routeMissing) { clear(body, notAvailable(t('perf.unavailable'))); return; }
    if (e.slug === 'invalid-query') { clear(body); showProblem(form, e); return; }
    throw e;
  }
  const csv = h('a.button.secondary', { href: csvHref(q), download: 'suanli-performance.csv', id: 'perf-csv' }, t('reports.csv'));
  clear(body,
    section(t('perf.key_figures'), h('p.muted', t('perf.only_accepted')), keyFigures(res.totals)),
    section(t('reports.charts'), charts(res)),
    section(t('perf.table'), h('div.actions', csv,
      h('a.button.secondary', { href: `#/settlements?${new URLSearchParams(Object.entries({ from: q.from, to: q.to }).filter(([, v]) => v))}` }, t('perf.settlements'))),
    monthTable(res)),
    section(t('perf.formulas'), h('ul.formulas', ['pflop', 'west', 'green', 'subsidy'].map((k) => h('li', t(`perf.formula.${k}`))))));
}
