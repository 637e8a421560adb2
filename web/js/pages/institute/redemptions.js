// The institute's redemptions: which voucher paid how much on which order.
import { get } from '../../api.js';
import { t } from '../../i18n.js';
import { h, clear, money, num, timeEl, badge, notAvailable, table, pager } from '../../ui.js';
import { idCell, shortId, pageHeader, optional } from '../common.js';
import { programNames } from './vouchers.js';

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
