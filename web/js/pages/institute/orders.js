// The institute's orders: filter by status, cancel with the refund shown.
import { get, ApiError, userAction } from '../../api.js';
import { t } from '../../i18n.js';
import { h, clear, money, num, timeEl, badge, problemBox, table, pager, field, onSubmit, flash, confirmDialog } from '../../ui.js';
import { regionLabel, shortId, pageHeader } from '../common.js';
import { usageLink } from '../usage.js';

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
      { label: t('common.actions'), cell: (o) => (o.status === 'reserved' ? cancelButton(o) : usageLink(o)) },
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
  // one user action: a double click opens one dialog, a retry reuses its Idempotency-Key
  b.addEventListener('click', userAction(async (act) => {
    const ok = await confirmDialog(t('orders.cancel_title'), [
      h('p', t('orders.cancel_text')),
      h('dl.cost', h('div', h('dt', t('orders.refund')), h('dd', money(order.subsidy_fen))))], t('orders.cancel'), { danger: true });
    if (!ok) return;
    b.disabled = true;
    const cell = b.parentElement;
    try {
      const res = await act.post(`/v1/orders/${order.id}/cancel`);
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
  }));
  return b;
}
