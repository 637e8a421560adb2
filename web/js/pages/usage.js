// Delivery and usage of one completed order (issue 14): the provider reports the unit-hours it
// delivered with the SHA-256 of its evidence; the institute accepts or disputes the report
// within the window (silence accepts it) and records its payments of the net amount. The
// staff of the city read the same page.
import { get, ApiError, userAction } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, parseYuan, num, timeEl, badge, loading, problemBox, table, field, moneyField,
  onSubmit, showProblem, flash, confirmDialog, section,
} from '../ui.js';
import { shortId, pageHeader } from './common.js';

// A usage state as a badge ('none' reads "not reported").
const usageBadge = (state) => h(`span.badge.badge-${state}`, t(`status.${state === 'none' ? 'not_reported' : state}`));

// The link to this page from an order row (completed orders only).
export function usageLink(o) {
  if (o.status !== 'completed') return '';
  const label = t(`usage.state_${o.usage_state || 'none'}`);
  // the accessible name starts with the visible text and says which order
  return h('a.button.small.secondary', { href: `#/orders/${o.id}/usage`, 'aria-label': `${label} ${shortId(o.id)}` }, label);
}

export async function usage(main, { me, params, navigate }) {
  clear(main, pageHeader(t('usage.title')), loading());
  const [o, hist, pays] = await Promise.all([
    get(`/v1/orders/${params.id}`), get(`/v1/orders/${params.id}/usage`), get(`/v1/orders/${params.id}/payments`)]);
  const again = () => navigate(`orders/${o.id}/usage`);
  const summary = h('dl.cost',
    h('div', h('dt', t('usage.state')), h('dd', usageBadge(o.usage_state))),
    h('div', h('dt', t('usage.reserved_uh')), h('dd', num(o.units * o.hours))),
    h('div', h('dt', t('usage.delivered_uh')), h('dd', o.delivered_unit_hours === null ? '—' : num(o.delivered_unit_hours, 3))),
    h('div', h('dt', t('cost.gross')), h('dd', money(o.gross_fen),
      o.reserved_gross_fen !== null && o.reserved_gross_fen !== o.gross_fen ? h('span.hint', ` (${t('usage.reserved')} ${money(o.reserved_gross_fen)})`) : null)),
    h('div', h('dt', t('cost.subsidy')), h('dd', money(o.subsidy_fen))),
    h('div', h('dt', t('cost.net')), h('dd', money(o.net_fen))),
    h('div', h('dt', t('usage.paid')), h('dd', money(o.buyer_paid_fen))),
    h('div', h('dt', t('usage.due_at')), h('dd', o.due_at ? timeEl(o.due_at) : '—')));

  const parts = [section(t('usage.order', { id: shortId(o.id) }), summary)];
  if (me.role === 'provider' && o.status === 'completed' && ['none', 'disputed'].includes(o.usage_state)) parts.push(reportForm(o, again));
  const pending = hist.items.find((r) => r.state === 'reported');
  if (me.role === 'institute' && pending && new Date(pending.accept_by) > new Date()) parts.push(decide(o, pending, again));
  parts.push(section(t('usage.history'), hist.items.length ? table([
    { label: t('usage.reported_at'), head: true, cell: (r) => timeEl(r.created_at) },
    { label: t('usage.unit_hours'), num: true, cell: (r) => num(r.unit_hours, 3) },
    { label: t('usage.availability'), num: true, cell: (r) => `${num(r.availability * 100, 2)} %` },
    { label: t('usage.evidence'), cell: (r) => h('ul.evidence', r.evidence.map((e) => h('li', e.name, ' ', h('code.id', { title: e.sha256 }, e.sha256.slice(0, 12))))) },
    { label: t('usage.report_state'), cell: (r) => h('span', badge(r.state), r.accepted_by_silence ? ` ${t('usage.by_silence')}` : '') },
    { label: t('usage.accept_by'), cell: (r) => timeEl(r.accept_by) },
    { label: t('usage.reason'), cell: (r) => r.dispute_reason || '' },
  ], hist.items, { caption: t('usage.history'), rowKey: (r) => r.id }) : h('p', t('usage.none_yet'))));
  if (o.usage_state === 'accepted') {
    const payParts = [pays.items.length ? table([
      { label: t('usage.paid_at'), head: true, cell: (p) => timeEl(p.created_at) },
      { label: t('usage.reference'), cell: (p) => p.reference },
      { label: t('usage.amount'), num: true, cell: (p) => money(p.amount_fen) },
    ], pays.items, { caption: t('usage.payments'), rowKey: (p) => p.id }) : h('p', t('usage.no_payments'))];
    if (me.role === 'institute' && o.buyer_paid_fen < o.net_fen) payParts.push(payForm(o, again));
    parts.push(section(t('usage.payments'), ...payParts));
  }
  clear(main, pageHeader(t('usage.title')), ...parts);
}

function reportForm(o, again) {
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'ur-h' },
    h('h2', { id: 'ur-h' }, t('usage.report_title')),
    h('div.grid',
      field({ name: 'unit_hours', label: t('usage.unit_hours'), type: 'number', min: 0, max: o.units * o.hours, step: 'any', required: true,
        hint: t('usage.unit_hours_hint', { max: num(o.units * o.hours) }) }),
      field({ name: 'availability', label: t('usage.availability_pct'), type: 'number', min: 0, max: 100, step: 'any', value: '99.9', required: true }),
      field({ name: 'evidence_name', label: t('usage.evidence_name'), required: true, placeholder: 'meter-export.csv' }),
      field({ name: 'evidence_sha256', label: t('usage.evidence_sha'), required: true, hint: t('usage.evidence_sha_hint') })),
    h('div.actions', h('button', { type: 'submit' }, t('usage.report'))));
  const act = userAction(async (a, body) => a.post(`/v1/orders/${o.id}/usage`, body));
  onSubmit(form, async (v) => {
    try {
      await act({
        unit_hours: Number(v.unit_hours),
        availability: Math.round(Number(v.availability) * 1000) / 100000,
        evidence: [{ name: v.evidence_name, sha256: v.evidence_sha256.trim().toLowerCase() }],
      });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showProblem(form, e, { 'evidence[0].name': 'evidence_name', 'evidence[0].sha256': 'evidence_sha256', evidence: 'evidence_name' });
      return;
    }
    flash(t('usage.reported'));
    again();
  });
  return form;
}

function decide(o, pending, again) {
  const accept = h('button', { type: 'button' }, t('usage.accept'));
  const dispute = h('button.danger', { type: 'button' }, t('usage.dispute'));
  const host = h('div.actions', accept, dispute);
  const fail = (b, e) => { b.disabled = false; if (!(e instanceof ApiError)) throw e; host.append(problemBox(e)); };
  accept.addEventListener('click', userAction(async (a) => {
    const ok = await confirmDialog(t('usage.accept_title'), h('p', t('usage.accept_text', { uh: num(pending.unit_hours, 3) })), t('usage.accept'));
    if (!ok) return;
    accept.disabled = true;
    try {
      const res = await a.post(`/v1/orders/${o.id}/usage/accept`);
      flash(t('usage.accepted', { gross: money(res.gross_fen), net: money(res.net_fen) }));
      again();
    } catch (e) { fail(accept, e); }
  }));
  dispute.addEventListener('click', userAction(async (a) => {
    const reason = field({ name: 'reason', label: t('usage.reason'), type: 'textarea', required: true });
    const ok = await confirmDialog(t('usage.dispute_title'), reason, t('usage.dispute'), { danger: true });
    if (!ok) return;
    dispute.disabled = true;
    try {
      await a.post(`/v1/orders/${o.id}/usage/dispute`, { reason: reason.querySelector('textarea').value });
      flash(t('usage.disputed'));
      again();
    } catch (e) { fail(dispute, e); }
  }));
  return section(t('usage.decide_title'),
    h('p', t('usage.decide_text', { uh: num(pending.unit_hours, 3), at: '' }), timeEl(pending.accept_by)), host);
}

function payForm(o, again) {
  const form = h('form', { novalidate: true, 'aria-label': t('usage.pay_title') },
    h('div.grid',
      moneyField({ name: 'amount_fen', label: t('usage.amount'), fen: o.net_fen - o.buyer_paid_fen, required: true }),
      field({ name: 'reference', label: t('usage.reference'), required: true, placeholder: 'ICBC-…' })),
    h('div.actions', h('button', { type: 'submit' }, t('usage.pay'))));
  const act = userAction(async (a, body) => a.post(`/v1/orders/${o.id}/payments`, body));
  onSubmit(form, async (v) => {
    const amount = parseYuan(v.amount_fen);
    if (amount === null) { showProblem(form, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'amount_fen', message: t('common.bad_amount') }] } }); return; }
    await act({ amount_fen: Number(amount), reference: v.reference });
    flash(t('usage.paid_flash'));
    again();
  });
  return form;
}
