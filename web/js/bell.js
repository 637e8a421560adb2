// bell.js — the notification bell in the header, for every role: the unread count on the
// button, a panel with the latest notifications worded in the reader's language, and marking
// one or all read.
import { ApiError, get, post } from './api.js';
import { t } from './i18n.js';
import { h, clear, money, dateTime, problemBox } from './ui.js';

const PAGE = 20;

// The sentence of one notification, from its kind and data.
function sentence(n) {
  const d = n.data || {};
  switch (n.kind) {
    case 'voucher.issued':
      return t('bell.voucher_issued', { n: d.count, amount: money(d.face_value_fen), program: d.program_name || '' });
    case 'voucher.expiring':
      return t('bell.voucher_expiring', { days: d.days, amount: money(d.balance_fen) });
    case 'order.created':
      return t('bell.order_created', { units: d.units, accelerator: d.accelerator || '', amount: money(d.gross_fen) });
    case 'order.cancelled':
      return t('bell.order_cancelled', { units: d.units, accelerator: d.accelerator || '' });
    case 'program.budget_threshold':
      return t('bell.budget_threshold', { program: d.program_name || '', pct: d.threshold_pct });
    case 'anomaly.flagged':
      return t('bell.anomaly_flagged', { detail: d.detail || d.kind || '' });
    case 'application.decided':
      return t(`bell.application_${d.status}`, { amount: money(d.approved_fen || d.requested_fen || 0) });
    default:
      return n.kind;
  }
}

export function bell() {
  const count = h('span.bell-count', { 'aria-hidden': 'true' });
  const button = h('button.secondary.small.bell', { type: 'button', id: 'bell', 'aria-expanded': 'false', 'aria-controls': 'bell-panel' },
    h('span.bell-icon', { 'aria-hidden': 'true' }), count);
  const panel = h('div.bell-panel', { id: 'bell-panel', hidden: true, role: 'region', 'aria-label': t('bell.title'), tabindex: '-1' });
  const wrap = h('div.bell-wrap', button, panel);

  function showCount(n) {
    count.textContent = n > 0 ? String(n) : '';
    button.setAttribute('aria-label', t('bell.label', { n }));
  }

  async function load() {
    let page;
    try {
      page = await get('/v1/notifications', { limit: PAGE });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      clear(panel, problemBox(e));
      return;
    }
    showCount(page.unread_count);
    if (panel.hidden) return;
    const items = page.items.map((n) => h(`li.bell-item${n.read ? '' : '.unread'}`, { dataset: { id: n.id, kind: n.kind } },
      h('p.bell-text', sentence(n)),
      h('p.bell-meta', dateTime(n.created_at)),
      n.read ? null : h('button.secondary.small', { type: 'button', on: { click: () => markRead(n.id) } }, t('bell.mark_read'))));
    clear(panel,
      h('div.bell-head', h('h2', t('bell.title')),
        h('button.secondary.small', { type: 'button', id: 'bell-read-all', disabled: page.unread_count === 0, on: { click: markAll } }, t('bell.mark_all_read'))),
      items.length ? h('ul.bell-list', items) : h('p.bell-empty', t('bell.empty')));
  }

  // After marking, the panel is drawn again: the focus, on a button that is gone, stays in it.
  async function markRead(id) {
    await post(`/v1/notifications/${id}/read`);
    await load();
    panel.focus();
  }

  async function markAll() {
    await post('/v1/notifications/read-all');
    await load();
    panel.focus();
  }

  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    load();
  });
  wrap.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || panel.hidden) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  });
  showCount(0);
  load();
  return wrap;
}
