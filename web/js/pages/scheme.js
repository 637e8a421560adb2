// The voucher scheme (issue 13): an institute's open programmes, its application form and "My
// applications"; the city administrator's review queue (approve, trim, reject) and a
// programme's accreditation list. The rules editor is the programme form (admin.js).
import { get, put, del, ApiError, userAction } from '../api.js';
import { t } from '../i18n.js';
import {
  h, clear, money, parseYuan, percentBp, timeEl, badge, empty, notAvailable, problemBox, table,
  pager, field, moneyField, onSubmit, showProblem, flash, section,
} from '../ui.js';
import { orgs, orgNames, idCell, pageHeader, optional, regionLabel } from './common.js';

// ==== institutes: open programmes, apply, my applications =======================================

function programRules(p) {
  const opt = (v, f) => (v === null || v === undefined ? t('common.none') : f(v));
  return h('dl.kv',
    h('dt', t('programs.period')), h('dd', timeEl(p.starts_at, false), ' – ', timeEl(p.ends_at, false)),
    h('dt', t('programs.max_subsidy')), h('dd', percentBp(p.max_subsidy_bp)),
    h('dt', t('scheme.domestic_bp')), h('dd', opt(p.domestic_subsidy_bp, percentBp)),
    h('dt', t('scheme.west_bp')), h('dd', opt(p.west_subsidy_bp, percentBp)),
    h('dt', t('programs.cap')), h('dd', opt(p.per_institute_cap_fen, money)),
    h('dt', t('scheme.year_cap')), h('dd', opt(p.per_institute_year_cap_fen, money)),
    h('dt', t('scheme.contract_bp')), h('dd', opt(p.per_contract_cap_bp, percentBp)),
    h('dt', t('programs.regions')), h('dd', (p.regions || []).map(regionLabel).join(', ')),
    h('dt', t('scheme.providers')), h('dd', p.open_to_all_providers ? t('scheme.open_to_all') : t('scheme.accredited_only')));
}

export async function openPrograms(main) {
  const first = await optional(() => get('/v1/programs', { limit: 50 }));
  const head = pageHeader(t('scheme.open_title'), h('a.button.secondary', { href: '#/my-applications' }, t('nav.my_applications')));
  if (!first.ok) { clear(main, head, notAvailable(t('programs.unavailable'))); return; }
  const list = h('div');
  clear(main, head, list);
  await pager(list, (cursor) => (cursor ? get('/v1/programs', { limit: 50, cursor }) : first.value),
    (items) => h('div.cards', items.map((p) => h('article.card.program', { dataset: { id: p.id } },
      h('div.voucher-head', h('h2', p.name), badge(p.status)),
      h('p', t('programs.budget'), ': ', money(p.budget_fen)),
      programRules(p),
      h('div.actions', h('a.button', { href: `#/apply/${p.id}`, 'aria-label': `${t('scheme.apply')}: ${p.name}` }, t('scheme.apply')))))),
    t('scheme.no_open'));
}

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function applyForm(main, { params, navigate }) {
  const p = await get(`/v1/programs/${params.id}`);
  const providers = await orgs('provider');
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'ap-h' },
    h('h2', { id: 'ap-h' }, t('scheme.application')),
    h('div.grid',
      moneyField({ name: 'requested_fen', label: t('scheme.requested'), required: true }),
      field({ name: 'contract_reference', label: t('scheme.contract_reference'), required: true }),
      moneyField({ name: 'contract_value_fen', label: t('scheme.contract_value'),
        hint: p.per_contract_cap_bp ? t('scheme.contract_value_required', { pct: percentBp(p.per_contract_cap_bp) }) : t('scheme.contract_value_hint') }),
      field({ name: 'provider_id', label: t('scheme.provider'), type: 'select',
        options: [['', t('common.any')], ...providers.map((o) => [o.id, o.name])] }),
      field({ name: 'purpose', label: t('scheme.purpose'), type: 'textarea', required: true }),
      field({ name: 'attachments', label: t('scheme.attachments'), type: 'file', hint: t('scheme.attachments_hint') })),
    h('div.actions', h('button', { type: 'submit' }, t('scheme.submit')), h('a.button.secondary', { href: '#/open-programs' }, t('common.cancel'))));
  // several files; read here, not by values(), which takes a multiple control for a <select>
  const fileInput = form.querySelector('input[type=file]');
  fileInput.multiple = true;
  fileInput.removeAttribute('name');
  clear(main, pageHeader(t('scheme.apply_title', { name: p.name })), section(t('programs.rules'), programRules(p)), form);
  onSubmit(form, userAction(async (act, v) => {
    const errors = [];
    const requested = parseYuan(v.requested_fen);
    if (requested === null || requested === '0') errors.push({ field: 'requested_fen', message: t('common.bad_amount') });
    const value = v.contract_value_fen ? parseYuan(v.contract_value_fen) : null;
    if (v.contract_value_fen && value === null) errors.push({ field: 'contract_value_fen', message: t('common.bad_amount') });
    if (!v.contract_reference) errors.push({ field: 'contract_reference', message: t('common.required') });
    if (!v.purpose) errors.push({ field: 'purpose', message: t('common.required') });
    if (errors.length) { showProblem(form, { problem: { title: t('problem.validation-failed'), errors } }); return; }
    const files = [...fileInput.files];
    const body = {
      program_id: p.id, requested_fen: Number(requested), purpose: v.purpose,
      contract_reference: v.contract_reference,
      attachments: await Promise.all(files.map(async (f) => ({ name: f.name.slice(0, 200), sha256: await sha256Hex(f) }))),
    };
    if (value !== null) body.contract_value_fen = Number(value);
    if (v.provider_id) body.provider_id = v.provider_id;
    await act.post('/v1/applications', body);
    flash(t('scheme.submitted'));
    navigate('my-applications');
  }));
}

function withdrawButton(a) {
  const b = h('button.small.secondary', { type: 'button', 'aria-label': `${t('scheme.withdraw')} ${a.contract_reference}` }, t('scheme.withdraw'));
  b.addEventListener('click', userAction(async (act) => {
    b.disabled = true;
    try {
      const res = await act.post(`/v1/applications/${a.id}/withdraw`);
      b.closest('tr').querySelector('.badge').replaceWith(badge(res.status));
      b.remove();
      flash(t('scheme.withdrawn'));
    } catch (e) {
      b.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      b.parentElement.append(problemBox(e));
    }
  }));
  return b;
}

export async function myApplications(main) {
  const list = h('div');
  clear(main, pageHeader(t('nav.my_applications'), h('a.button', { href: '#/open-programs' }, t('scheme.apply_more'))), list);
  await pager(list, (cursor) => get('/v1/applications', { limit: 50, cursor }), (items) => table([
    { label: t('scheme.programme'), head: true, cell: (a) => a.program_name },
    { label: t('scheme.contract_reference'), cell: (a) => a.contract_reference },
    { label: t('scheme.requested'), num: true, cell: (a) => money(a.requested_fen) },
    { label: t('offer.status'), cell: (a) => badge(a.status) },
    { label: t('scheme.approved'), num: true, cell: (a) => (a.approved_fen ? money(a.approved_fen) : '—') },
    { label: t('scheme.note'), cell: (a) => a.decision_note || '' },
    { label: t('scheme.submitted_at'), cell: (a) => timeEl(a.created_at) },
    { label: t('common.actions'), cell: (a) => (['submitted', 'waitlisted'].includes(a.status)
      ? withdrawButton(a) : '') },
  ], items, { caption: t('nav.my_applications'), rowKey: (a) => a.id }), t('scheme.no_applications'));
}

// ==== city administrators: the review queue =====================================================

function decisionCell(a, institutes) {
  const amount = moneyField({ name: 'amount_fen', label: t('scheme.amount'), fen: a.requested_fen, hint: ' ' });
  const note = field({ name: 'note', label: t('scheme.note_or_reason') });
  const approve = h('button.small', { type: 'submit', 'aria-label': `${t('scheme.approve')} ${a.contract_reference}` }, t('scheme.approve'));
  const reject = h('button.small.danger', { type: 'button', 'aria-label': `${t('scheme.reject')} ${a.contract_reference}` }, t('scheme.reject'));
  const form = h('form.decision', { novalidate: true, 'aria-label': `${t('scheme.decide')} ${institutes.get(a.institute_id) || ''} ${a.contract_reference}` },
    amount, note, h('div.actions', approve, reject));
  const done = (res) => {
    const row = form.closest('tr');
    row.querySelector('.badge').replaceWith(badge(res.status));
    clear(form.parentElement, h('span.muted', res.status === 'approved' ? t('scheme.approved_as', { amount: money(res.approved_fen) }) : t(`status.${res.status}`)));
  };
  onSubmit(form, userAction(async (act, v) => {
    const fen = parseYuan(v.amount_fen);
    if (fen === null || fen === '0') { showProblem(form, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'amount_fen', message: t('common.bad_amount') }] } }); return; }
    const body = { amount_fen: Number(fen) };
    if (v.note) body.note = v.note;
    const res = await act.post(`/v1/applications/${a.id}/approve`, body);
    flash(res.status === 'approved' ? t('scheme.approved_as', { amount: money(res.approved_fen) }) : t('scheme.waitlisted'));
    done(res);
  }));
  reject.addEventListener('click', userAction(async (act) => {
    const reason = form.querySelector('[name=note]').value.trim();
    if (!reason) { showProblem(form, { problem: { title: t('problem.validation-failed'), errors: [{ field: 'note', message: t('scheme.reason_required') }] } }); return; }
    reject.disabled = true;
    try {
      const res = await act.post(`/v1/applications/${a.id}/reject`, { reason });
      flash(t('scheme.rejected'));
      done(res);
    } catch (e) {
      reject.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      showProblem(form, e);
    }
  }));
  return form;
}

export async function reviewQueue(main, { me, query, navigate }) {
  const status = query.status || 'submitted';
  const admin = me.role === 'city_admin';
  const filter = h('form.inline-filter', { 'aria-label': t('orders.filter') },
    field({ name: 'status', label: t('offer.status'), type: 'select', value: status,
      options: [['all', t('common.all')], ...['submitted', 'waitlisted', 'approved', 'rejected', 'withdrawn'].map((s) => [s, t(`status.${s}`)])] }),
    h('button.secondary', { type: 'submit' }, t('common.apply')));
  onSubmit(filter, async (v) => navigate('applications', { status: v.status, program_id: query.program_id }));
  const list = h('div');
  clear(main, pageHeader(t('nav.applications')), filter, list);
  const institutes = await orgNames('institute');
  await pager(list, (cursor) => get('/v1/applications', { limit: 50, cursor, status: status === 'all' ? undefined : status, program_id: query.program_id }), (items) => table([
    { label: t('vouchers.institute'), head: true, cell: (a) => a.institute_name || idCell(a.institute_id, institutes) },
    { label: t('scheme.programme'), cell: (a) => a.program_name },
    { label: t('scheme.contract_reference'), cell: (a) => a.contract_reference },
    { label: t('scheme.purpose'), cell: (a) => a.purpose },
    { label: t('scheme.requested'), num: true, cell: (a) => money(a.requested_fen) },
    { label: t('scheme.attachments'), cell: (a) => (a.attachments || []).map((x) => h('div', x.name, ' ', h('code.id', { title: x.sha256 }, x.sha256.slice(0, 12)))) },
    { label: t('offer.status'), cell: (a) => badge(a.status) },
    ...(admin ? [{ label: t('common.actions'), cell: (a) => (['submitted', 'waitlisted'].includes(a.status) ? decisionCell(a, institutes)
      : a.status === 'approved' ? t('scheme.approved_as', { amount: money(a.approved_fen) }) : (a.decision_note || '')) }] : []),
  ], items, { caption: t('nav.applications'), rowKey: (a) => a.id }), t('scheme.queue_empty'));
}

// ==== city administrators: a programme's accreditation list =====================================

export async function accreditation(main, { me, params }) {
  const p = await get(`/v1/programs/${params.id}`);
  const admin = me.role === 'city_admin';
  const listHost = h('div');
  const providers = await orgs('provider');
  const draw = async () => {
    const l = await get(`/v1/programs/${p.id}/providers`);
    clear(listHost,
      h('p', l.open_to_all_providers ? t('scheme.open_to_all') : t('scheme.accredited_only')),
      l.items.length ? table([
        { label: t('scheme.provider'), head: true, cell: (x) => x.provider_name },
        { label: t('offer.status'), cell: (x) => badge(x.status) },
        { label: t('scheme.note'), cell: (x) => x.note || '' },
        { label: t('scheme.updated'), cell: (x) => timeEl(x.updated_at) },
        ...(admin ? [{ label: t('common.actions'), cell: (x) => {
          const b = h('button.small.danger', { type: 'button', 'aria-label': `${t('scheme.remove')} ${x.provider_name}` }, t('scheme.remove'));
          b.addEventListener('click', async () => { b.disabled = true; await del(`/v1/programs/${p.id}/providers/${x.provider_id}`); flash(t('scheme.removed')); await draw(); });
          return b;
        } }] : []),
      ], l.items, { caption: t('scheme.accreditation'), rowKey: (x) => x.provider_id }) : empty(t('scheme.no_providers')));
  };
  const form = admin ? h('form.card', { novalidate: true, 'aria-labelledby': 'acc-h' },
    h('h2', { id: 'acc-h' }, t('scheme.set_provider')),
    h('div.grid',
      field({ name: 'provider_id', label: t('scheme.provider'), type: 'select', required: true, options: providers.map((o) => [o.id, o.name]) }),
      field({ name: 'status', label: t('offer.status'), type: 'select', value: 'accredited', options: ['accredited', 'pending', 'suspended'].map((s) => [s, t(`status.${s}`)]) }),
      field({ name: 'note', label: t('scheme.note') })),
    h('div.actions', h('button', { type: 'submit' }, t('common.save')))) : null;
  clear(main, pageHeader(t('scheme.accreditation_title', { name: p.name }), h('a.button.secondary', { href: `#/programs/${p.id}` }, t('scheme.back_to_programme'))),
    form, section(t('scheme.accreditation'), listHost));
  if (form) onSubmit(form, async (v) => {
    const body = { status: v.status };
    if (v.note) body.note = v.note;
    await put(`/v1/programs/${p.id}/providers/${v.provider_id}`, body);
    flash(t('scheme.provider_saved'));
    await draw();
  });
  await draw();
}
