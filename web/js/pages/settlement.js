// Settlement pages (issue 14): a provider's settlement statement (and the city's), payouts
// (兑付) — proposed by one administrator, approved by a second, marked paid with the bank
// transfer's reference; providers and institutes see the payouts they received — and
// recoveries (追回) of subsidy already settled.
import { get, all, request, userAction, ApiError } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, parseYuan, timeEl, badge, problemBox, table, pager, field, moneyField,
  onSubmit, showProblem, flash, confirmDialog, download, localInput, fromLocalInput,
} from '../ui.js';
import { orgNames, shortId, pageHeader } from './common.js';

const ADMIN_ROLES = ['city_admin', 'auditor', 'operator'];

// ==== settlement statement ====================================================================

export async function statement(main, { me, query, navigate }) {
  const q = { from: query.from || '', to: query.to || '', provider_id: query.provider_id || '' };
  const providers = me.role === 'provider' ? new Map() : await orgNames('provider');
  const filter = h('form.inline-filter', { 'aria-label': t('settle.title') },
    me.role === 'provider' ? null : field({ name: 'provider_id', label: t('settle.provider'), type: 'select', value: q.provider_id,
      options: [['', t('settle.all_providers')], ...[...providers].map(([id, name]) => [id, name])] }),
    field({ name: 'from', label: t('settle.from'), type: 'datetime-local', value: q.from ? localInput(new Date(q.from)) : '' }),
    field({ name: 'to', label: t('settle.to'), type: 'datetime-local', value: q.to ? localInput(new Date(q.to)) : '' }),
    h('button.secondary', { type: 'submit' }, t('settle.show')));
  onSubmit(filter, async (v) => navigate('settlements', {
    provider_id: v.provider_id, from: fromLocalInput(v.from), to: fromLocalInput(v.to) }));
  const params = Object.fromEntries(Object.entries(q).filter(([, v]) => v));
  const dl = h('button', { type: 'button', id: 'settlement-csv' }, t('settle.csv'));
  const list = h('div');
  dl.addEventListener('click', async () => {
    dl.disabled = true;
    try {
      const csv = await request('GET', '/v1/settlements', { query: { ...params, format: 'csv' }, accept: 'text/csv', raw: true });
      download('settlement.csv', csv, 'text/csv');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      list.prepend(problemBox(e));
    } finally {
      dl.disabled = false;
    }
  });
  clear(main, pageHeader(t('settle.title'), dl), h('p.lede', t('settle.lede')), filter, list);
  await pager(list, (cursor) => get('/v1/settlements', { ...params, limit: 50, cursor }), (items) => table([
    { label: t('settle.order'), head: true, cell: (s) => h('code.id', { title: s.order_id }, shortId(s.order_id)) },
    { label: t('settle.accepted'), cell: (s) => timeEl(s.usage_accepted_at) },
    me.role === 'provider' ? null : { label: t('settle.provider'), cell: (s) => s.provider_name },
    { label: t('settle.institute'), cell: (s) => s.institute_name },
    { label: t('settle.programs'), cell: (s) => s.programs.map((p) => p.program_name).join(', ') || '—' },
    { label: t('cost.gross'), num: true, cell: (s) => money(s.gross_fen) },
    { label: t('cost.subsidy'), num: true, cell: (s) => money(s.subsidy_fen) },
    { label: t('settle.buyer_paid'), num: true, cell: (s) => money(s.buyer_paid_fen) },
    { label: t('settle.paid'), num: true, cell: (s) => money(sum(s.programs, 'paid_fen')) },
    { label: t('settle.recovered'), num: true, cell: (s) => money(sum(s.programs, 'recovered_fen')) },
    { label: t('settle.receivable'), num: true, cell: (s) => money(sum(s.programs, 'receivable_fen')) },
    { label: t('settle.payout'), cell: (s) => badge(s.payout_state) },
  ].filter(Boolean), items, { caption: t('settle.caption'), rowKey: (s) => s.order_id }), t('settle.empty'));
}

const sum = (rows, key) => rows.reduce((a, r) => a + BigInt(r[key] ?? 0), 0n).toString();

// ==== payouts =================================================================================

const STATES = ['proposed', 'approved', 'paid'];

export async function payouts(main, { me, query, navigate }) {
  const admin = me.role === 'city_admin';
  const state = STATES.includes(query.state) ? query.state : '';
  const tabs = h('nav.tabs', { 'aria-label': t('payout.state_tabs') },
    [['', t('payout.all')], ...STATES.map((s) => [s, t(`status.${s}`)])].map(([s, label]) =>
      h('a', { href: `#/payouts${s ? `?state=${s}` : ''}`, 'aria-current': s === state ? 'page' : null }, label)));
  const list = h('div');
  const title = ADMIN_ROLES.includes(me.role) ? t('payout.title') : t('payout.title_received');
  clear(main, pageHeader(title), h('p.lede', t('payout.lede')), admin ? await proposeForm(navigate) : null, tabs, list);
  await pager(list, (cursor) => get('/v1/payouts', { state, limit: 50, cursor }), (items) => table([
    { label: t('payout.proposed_at'), head: true, cell: (p) => timeEl(p.proposed_at) },
    { label: t('payout.payee'), cell: (p) => h('span', p.payee_name, ' ', h('span.muted', `(${t(`payout.kind.${p.payee_kind}`)})`)) },
    { label: t('payout.gross'), num: true, cell: (p) => money(p.gross_fen) },
    { label: t('payout.netted'), num: true, cell: (p) => money(p.netted_fen) },
    { label: t('payout.total'), num: true, cell: (p) => money(p.total_fen) },
    { label: t('payout.lines'), num: true, cell: (p) => String(p.item_count) },
    { label: t('payout.state'), cell: (p) => badge(p.state) },
    { label: t('payout.reference'), cell: (p) => p.transfer_reference || '—' },
    admin ? { label: t('common.actions'), cell: (p) => payoutActions(p, me, navigate, state) } : null,
  ].filter(Boolean), items, { caption: t('payout.caption', { state: state ? t(`status.${state}`) : t('payout.all') }), rowKey: (p) => p.id }),
  t('payout.empty'));
}

async function proposeForm(navigate) {
  const programs = await all('/v1/programs', {});
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'po-h' },
    h('h2', { id: 'po-h' }, t('payout.propose_title')),
    h('div.grid',
      field({ name: 'program_id', label: t('payout.program'), type: 'select',
        options: [['', t('payout.all_programs')], ...programs.map((p) => [p.id, p.name])] }),
      field({ name: 'due_before', label: t('payout.due_before'), type: 'datetime-local' })),
    h('div.actions', h('button', { type: 'submit' }, t('payout.propose'))));
  const propose = userAction(async (act, body) => act.post('/v1/payouts', body));
  onSubmit(form, async (v) => {
    const body = {};
    if (v.program_id) body.program_id = v.program_id;
    if (v.due_before) body.due_before = fromLocalInput(v.due_before);
    const res = await propose(body);
    flash(t('payout.proposed_n', { n: res.items.length }));
    navigate('payouts', { state: 'proposed' });
  });
  return form;
}

function payoutActions(p, me, navigate, state) {
  const label = `${p.payee_name} ${money(p.total_fen)}`;
  const fail = (btn, e) => {
    btn.disabled = false;
    if (!(e instanceof ApiError)) throw e;
    btn.parentElement.append(problemBox(e));
  };
  if (p.state === 'proposed') {
    if (p.proposed_by === me.id) return h('span.muted', t('payout.own'));
    const b = h('button.small', { type: 'button', 'aria-label': `${t('payout.approve')} ${label}` }, t('payout.approve'));
    const approve = userAction(async (act) => act.post(`/v1/payouts/${p.id}/approve`));
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await approve();
        flash(t('payout.approved'));
        navigate('payouts', { state });
      } catch (e) { fail(b, e); }
    });
    return b;
  }
  if (p.state === 'approved') {
    const b = h('button.small', { type: 'button', 'aria-label': `${t('payout.mark_paid')} ${label}` }, t('payout.mark_paid'));
    const pay = userAction(async (act, reference) => act.post(`/v1/payouts/${p.id}/paid`, { transfer_reference: reference }));
    b.addEventListener('click', async () => {
      const ref = field({ name: 'transfer_reference', label: t('payout.reference'), required: true });
      if (!(await confirmDialog(t('payout.paid_title'),
        [h('p', t('payout.paid_text', { amount: money(p.total_fen), payee: p.payee_name })), ref], t('payout.mark_paid')))) return;
      b.disabled = true;
      try {
        await pay(ref.querySelector('input').value.trim());
        flash(t('payout.marked_paid'));
        navigate('payouts', { state });
      } catch (e) { fail(b, e); }
    });
    return b;
  }
  return '';
}

// ==== recoveries ==============================================================================

export async function recoveries(main, { me, navigate }) {
  const form = me.role === 'city_admin' ? recoveryForm(navigate) : null;
  const list = h('div');
  clear(main, pageHeader(t('recovery.title')), h('p.lede', t('recovery.lede')), form, list);
  await pager(list, (cursor) => get('/v1/recoveries', { limit: 50, cursor }), (items) => table([
    { label: t('recovery.created'), head: true, cell: (r) => timeEl(r.created_at) },
    { label: t('settle.order'), cell: (r) => h('code.id', { title: r.order_id }, shortId(r.order_id)) },
    { label: t('recovery.reason'), cell: (r) => r.reason },
    { label: t('recovery.debtor'), cell: (r) => t(`payout.kind.${r.debtor}`) },
    { label: t('recovery.amount'), num: true, cell: (r) => money(r.amount_fen) },
    { label: t('recovery.offset'), num: true, cell: (r) => money(r.offset_fen) },
    { label: t('recovery.debt_open'), num: true, cell: (r) => money(r.debt_open_fen) },
    { label: t('recovery.restored'), num: true, cell: (r) => money(r.restored_fen) },
  ], items, { caption: t('recovery.caption'), rowKey: (r) => r.id }), t('recovery.empty'));
}

function recoveryForm(navigate) {
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'rc-h' },
    h('h2', { id: 'rc-h' }, t('recovery.new')),
    h('div.grid',
      field({ name: 'order_id', label: t('recovery.order'), required: true }),
      field({ name: 'program_id', label: t('recovery.program') }),
      moneyField({ name: 'amount_fen', label: t('recovery.amount'), required: true }),
      field({ name: 'debtor', label: t('recovery.debtor'), type: 'select',
        options: [['', t('recovery.debtor_default')], ['provider', t('payout.kind.provider')], ['institute', t('payout.kind.institute')]] }),
      field({ name: 'restore_voucher', label: t('recovery.restore'), type: 'checkbox' })),
    field({ name: 'reason', label: t('recovery.reason'), type: 'textarea', required: true }),
    h('div.actions', h('button', { type: 'submit' }, t('recovery.submit'))));
  const record = userAction(async (act, body) => act.post('/v1/recoveries', body));
  onSubmit(form, async (v) => {
    const fen = parseYuan(v.amount_fen);
    if (fen === null) {
      showProblem(form, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'amount_fen', message: t('common.bad_amount') }] } });
      return;
    }
    const body = { order_id: v.order_id, amount_fen: Number(fen), reason: v.reason, restore_voucher: v.restore_voucher };
    if (v.program_id) body.program_id = v.program_id;
    if (v.debtor) body.debtor = v.debtor;
    await record(body);
    flash(t('recovery.recorded'));
    navigate('recoveries', { n: Date.now() });
  });
  return form;
}
