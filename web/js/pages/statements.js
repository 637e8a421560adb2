// Settlement statements (结算单) for administrators and auditors: each order whose usage was
// accepted in a period, of one provider or all of the city, with its bill, the buyer's payment,
// and per programme what was settled, paid out, recovered and is still receivable, from
// GET /v1/settlements; a CSV download link for the whole statement.
import { get, ApiError } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, timeEl, loading, notAvailable, table, pager, field, onSubmit, showProblem,
  localInput, fromLocalInput,
} from '../ui.js';
import { orgs, shortId, pageHeader } from './common.js';

const LIST = '/v1/settlements';
const FILTERS = ['provider_id', 'from', 'to'];

const state = (s) => h(`span.badge.badge-${s}`, { dataset: { state: s } }, t(`stmt.state.${s}`));
const sum = (list, k) => list.reduce((a, p) => a + BigInt(p[k] ?? 0), 0n).toString();

export async function statements(main, { query, navigate }) {
  const providers = await orgs('provider');
  const form = h('form.card.filters', { novalidate: true, 'aria-label': t('stmt.filters') },
    h('div.grid',
      field({ name: 'provider_id', label: t('stmt.provider'), type: 'select', value: query.provider_id || '',
        options: [['', t('stmt.all_providers')], ...providers.map((p) => [p.id, p.name])] }),
      field({ name: 'from', label: t('stmt.from'), type: 'datetime-local', value: query.from ? localInput(new Date(query.from)) : '' }),
      field({ name: 'to', label: t('stmt.to'), type: 'datetime-local', value: query.to ? localInput(new Date(query.to)) : '' })),
    h('div.actions', h('button', { type: 'submit' }, t('reports.show'))));
  onSubmit(form, async (v) => navigate('statements', { provider_id: v.provider_id, from: fromLocalInput(v.from), to: fromLocalInput(v.to) }));
  const q = {};
  for (const k of FILTERS) if (query[k]) q[k] = query[k];
  const csv = h('a.button.secondary', { href: `${LIST}?${new URLSearchParams({ ...q, format: 'csv' })}`, download: 'suanli-settlements.csv', id: 'stmt-csv' }, t('reports.csv'));
  const list = h('div', loading());
  clear(main, pageHeader(t('stmt.title'), csv), h('p.lede', t('stmt.lede')), form, list);
  let first;
  try {
    first = await get(LIST, { ...q, limit: 50 });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.routeMissing) { clear(list, notAvailable(t('stmt.unavailable'))); return; }
    if (e.slug === 'invalid-query') { clear(list); showProblem(form, e); return; }
    throw e;
  }
  clear(list);
  await pager(list, (cursor) => (cursor ? get(LIST, { ...q, limit: 50, cursor }) : first), (items) => table([
    { label: t('stmt.order'), head: true, cell: (s) => h('code.id', { title: s.order_id }, shortId(s.order_id)) },
    { label: t('stmt.accepted'), cell: (s) => timeEl(s.usage_accepted_at) },
    { label: t('stmt.provider'), cell: (s) => s.provider_name },
    { label: t('stmt.institute'), cell: (s) => s.institute_name },
    { label: t('stmt.gross'), num: true, cell: (s) => money(s.gross_fen) },
    { label: t('stmt.subsidy'), num: true, cell: (s) => money(s.subsidy_fen) },
    { label: t('stmt.buyer_paid'), num: true, cell: (s) => money(s.buyer_paid_fen) },
    { label: t('stmt.paid'), num: true, cell: (s) => money(sum(s.programs || [], 'paid_fen')) },
    { label: t('stmt.recovered'), num: true, cell: (s) => money(sum(s.programs || [], 'recovered_fen')) },
    { label: t('stmt.receivable'), num: true, cell: (s) => money(sum(s.programs || [], 'receivable_fen')) },
    { label: t('stmt.payout'), cell: (s) => state(s.payout_state) },
  ], items, { caption: t('stmt.title'), rowKey: (s) => s.order_id }), t('stmt.empty'));
}
