// ui.js — DOM building, formatting of money and time, and the shared pieces every page uses:
// forms whose API errors land next to the field that caused them, tables, pagers, empty and
// loading states, status badges. No innerHTML anywhere: text is always set as text.
import { t, lang } from './i18n.js';

// h('tag.class', {attr: v, on: {click: fn}}, ...children) → Element. Strings become text.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.className += (el.className ? ' ' : '') + v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idSeq = 0;
export const uid = (p = 'f') => `${p}-${++idSeq}`;

// ---- money: integer fen, formatted exactly with BigInt (no floating point) -----------------

export function money(fen) {
  if (fen === null || fen === undefined || fen === '') return '—';
  let v = BigInt(fen);
  const neg = v < 0n;
  if (neg) v = -v;
  const yuan = new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-GB').format(v / 100n);
  const cents = String(v % 100n).padStart(2, '0');
  return `${neg ? '−' : ''}¥${yuan}.${cents}`;
}

// "12,345.6" CNY → fen as a string of digits, or null when it is not an amount.
export function parseYuan(text) {
  const s = String(text).replace(/[,\s¥]/g, '').replace(/^CNY/i, '');
  const m = /^(\d{1,16})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const fen = BigInt(m[1]) * 100n + BigInt((m[2] || '0').padEnd(2, '0'));
  return fen.toString();
}

export const fenToYuanInput = (fen) =>
  fen === null || fen === undefined ? '' : `${BigInt(fen) / 100n}.${String(BigInt(fen) % 100n).padStart(2, '0')}`;

export function percentBp(bp) {
  return `${(Number(bp) / 100).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB')} %`;
}

export function share(x) {
  if (x === null || x === undefined) return '—';
  return `${Math.round(Number(x) * 1000) / 10} %`;
}

export function num(x, digits = 0) {
  if (x === null || x === undefined || x === '') return '—';
  return Number(x).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { maximumFractionDigits: digits });
}

// ---- time --------------------------------------------------------------------------------

export function dateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

export function date(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString(lang() === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit',
  });
}

export function timeEl(iso, withTime = true) {
  return iso ? h('time', { datetime: iso, title: iso }, withTime ? dateTime(iso) : date(iso)) : '—';
}

// <input type=datetime-local> value (local time) ↔ RFC 3339 (UTC)
export function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function fromLocalInput(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// ---- small components ----------------------------------------------------------------------

export function badge(status) {
  return h(`span.badge.badge-${status}`, t(`status.${status}`));
}

export function loading() {
  return h('p.loading', { role: 'status' }, h('span.spinner', { 'aria-hidden': 'true' }), t('common.loading'));
}

export function empty(text) {
  return h('p.empty', text || t('common.empty'));
}

export function notAvailable(what) {
  return h('div.notice.notice-info', { role: 'status' }, h('strong', t('common.not_available')), ' ', what || '');
}

// A problem from the API in words: its title, its detail and its field errors.
export function problemBox(err) {
  const p = (err && err.problem) || {};
  const box = h('div.notice.notice-error', { role: 'alert' },
    h('strong', problemTitle(err)), p.detail ? h('span', ' ', p.detail) : null);
  if (Array.isArray(p.errors) && p.errors.length)
    box.append(h('ul', p.errors.map((e) => h('li', e.field ? `${e.field}: ` : '', e.message))));
  return box;
}

export function problemTitle(err) {
  const p = (err && err.problem) || {};
  const slug = typeof p.type === 'string' ? p.type.replace(/^.*\/problems\//, '') : '';
  const known = slug && t(`problem.${slug}`, null, true);
  if (known) return known;
  if (p.title) return p.title;
  return err && err.status === 0 ? t('problem.network') : t('problem.unknown');
}

export function table(columns, rows, { caption, rowKey } = {}) {
  const tb = h('table.data',
    caption ? h('caption', caption) : null,
    h('thead', h('tr', columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    h('tbody', rows.map((r) => h('tr', rowKey ? { dataset: { key: rowKey(r) } } : null,
      columns.map((c) => h(c.head ? 'th' : 'td', { class: c.num ? 'num' : null, scope: c.head ? 'row' : null,
        'data-label': c.label }, c.cell(r)))))));
  return h('div.table-wrap', { tabindex: '0', role: 'region', 'aria-label': caption || t('common.table') }, tb);
}

// A "load more" pager over a keyset-paginated list endpoint.
// fetchPage(cursor) → {items, next_cursor}; render(items) → Node appended.
export function pager(host, fetchPage, render, emptyText) {
  const more = h('button.secondary', { type: 'button' }, t('common.load_more'));
  const status = h('p.visually-hidden', { role: 'status', 'aria-live': 'polite' });
  let cursor = null;
  let count = 0;
  async function next() {
    more.disabled = true;
    const spin = loading();
    host.append(spin);
    try {
      const page = await fetchPage(cursor);
      spin.remove();
      const items = page.items || [];
      count += items.length;
      if (count === 0) host.append(empty(emptyText));
      else if (items.length) host.append(render(items));
      cursor = page.next_cursor || null;
      status.textContent = t('common.shown', { n: count });
      if (cursor) host.append(more);
      else more.remove();
    } catch (e) {
      spin.remove();
      host.append(problemBox(e));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => { more.remove(); next(); });
  host.append(status);
  return next();
}

// ---- forms -------------------------------------------------------------------------------

// A labelled control. opts: {name, label, type, value, required, options:[[v,label]], hint,
// min, max, step, multiple, inputmode, autocomplete, placeholder}
export function field(opts) {
  const id = uid(opts.name.replace(/[^a-z0-9]/gi, '-'));
  const hintId = opts.hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  let control;
  const common = { id, name: opts.name, required: opts.required || null,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' ') };
  if (opts.type === 'select') {
    control = h('select', { ...common, multiple: opts.multiple || null, size: opts.size || null },
      (opts.options || []).map(([v, l]) => h('option', { value: v, selected: multiSelected(opts.value, v) || null }, l)));
  } else if (opts.type === 'textarea') {
    control = h('textarea', { ...common, rows: opts.rows || 4 }, opts.value || '');
  } else if (opts.type === 'checkbox') {
    control = h('input', { ...common, type: 'checkbox', checked: !!opts.value });
    return h('div.field.field-check', { dataset: { field: opts.name } }, control,
      h('label', { for: id }, opts.label), opts.hint ? h('p.hint', { id: hintId }, opts.hint) : null,
      h('p.field-error', { id: errId }));
  } else {
    control = h('input', { ...common, type: opts.type || 'text', value: opts.value ?? '',
      min: opts.min ?? null, max: opts.max ?? null, step: opts.step ?? null,
      inputmode: opts.inputmode || null, autocomplete: opts.autocomplete || 'off',
      placeholder: opts.placeholder || null, accept: opts.accept || null });
  }
  return h('div.field', { dataset: { field: opts.name } },
    h('label', { for: id }, opts.label, opts.required ? h('span.req', { 'aria-hidden': 'true' }, ' *') : null),
    control,
    opts.hint ? h('p.hint', { id: hintId }, opts.hint) : null,
    h('p.field-error', { id: errId }));
}

function multiSelected(value, v) {
  return Array.isArray(value) ? value.includes(v) : value === v;
}

// A group of checkboxes sharing one name (a list value): keyboard- and touch-friendly where a
// multiple <select> is not. values() gives the checked values as an array.
export function checkGroup(opts) {
  const id = uid(opts.name);
  const chosen = new Set(opts.value || []);
  return h('fieldset.field.check-group', { dataset: { field: opts.name }, 'aria-describedby': [opts.hint ? `${id}-hint` : null, `${id}-err`].filter(Boolean).join(' ') },
    h('legend', opts.label),
    h('div.checks', (opts.options || []).map(([v, l], i) => h('div.field-check',
      h('input', { type: 'checkbox', id: `${id}-${i}`, name: opts.name, value: v, checked: chosen.has(v), dataset: { group: '1' } }),
      h('label', { for: `${id}-${i}` }, l)))),
    opts.hint ? h('p.hint', { id: `${id}-hint` }, opts.hint) : null,
    h('p.field-error', { id: `${id}-err` }));
}

export function moneyField(opts) {
  return field({ ...opts, type: 'text', inputmode: 'decimal', value: opts.fen !== undefined ? fenToYuanInput(opts.fen) : opts.value,
    hint: opts.hint || t('common.yuan_hint') });
}

export function control(form, name) {
  return form.querySelector(`[name="${CSS.escape(name)}"]`);
}

export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox' && el.dataset.group) {
      if (!Array.isArray(out[el.name])) out[el.name] = [];
      if (el.checked) out[el.name].push(el.value);
    } else if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; }
    else if (el.multiple) out[el.name] = [...el.selectedOptions].map((o) => o.value);
    else out[el.name] = el.value.trim();
  }
  return out;
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  form.querySelectorAll('.form-problem').forEach((e) => e.remove());
}

// Puts one message next to the control named field; false if the form has no such control.
export function fieldError(form, name, message) {
  const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  wrap.querySelector('.field-error').textContent = message;
  const c = wrap.querySelector('input, select, textarea');
  if (c) c.setAttribute('aria-invalid', 'true');
  return true;
}

const SLUG_FIELDS = {
  'insufficient-capacity': 'units', 'units-below-reserved': 'units', 'outside-offer-window': 'start',
  'budget-exceeded': 'face_value_fen', 'budget-below-committed': 'budget_fen',
  'subsidy-ratio-exceeded': 'amount', 'insufficient-balance': 'amount', 'institute-cap-exceeded': 'amount',
  'bad-credentials': 'password',
};

// Shows an API error on a form: field errors (the problem's errors[], from the body decoder or
// from a rule checked in the database) next to their fields, the rest in words at the top;
// focuses the first.
export function showProblem(form, err, aliases = {}) {
  clearErrors(form);
  const p = (err && err.problem) || {};
  const rest = [];
  const place = (field, message) => {
    const name = aliases[field] || field;
    return name && (fieldError(form, name, message) || fieldError(form, name.replace(/\[\d+\].*$/, ''), message));
  };
  let placed = 0;
  for (const e of p.errors || []) if (place(e.field, e.message)) placed++; else rest.push(e);
  // domain refusals that name no field still have an obvious culprit on the form
  const culprit = SLUG_FIELDS[(p.type || '').replace(/^.*\/problems\//, '')];
  if (culprit && !placed) fieldError(form, culprit, problemTitle(err));
  const box = problemBox({ ...err, problem: { ...p, errors: rest, detail: p.detail } });
  box.classList.add('form-problem');
  if (placed && !rest.length) box.classList.add('form-problem-summary');
  form.prepend(box);
  const first = form.querySelector('[aria-invalid="true"]') || box;
  if (first === box) box.setAttribute('tabindex', '-1');
  first.focus();
}

// Wraps a submit handler: disables the submit button and shows "working" while it runs.
export function onSubmit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('[type=submit]');
    if (btn) { btn.disabled = true; btn.setAttribute('aria-busy', 'true'); }
    try {
      clearErrors(form);
      await fn(values(form), form);
    } catch (e) {
      if (e && e.problem !== undefined) showProblem(form, e);
      else throw e;
    } finally {
      if (btn) { btn.disabled = false; btn.removeAttribute('aria-busy'); }
    }
  });
  return form;
}

// A live-region message (toast) that screen readers announce.
export function flash(text, kind = 'ok') {
  const host = document.getElementById('flash');
  const el = h(`div.toast.toast-${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, text);
  host.append(el);
  setTimeout(() => el.remove(), 6000);
}

// A modal confirmation built on <dialog> (focus trapped, Escape cancels).
export function confirmDialog(title, body, okLabel, { danger = false } = {}) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const ok = h(`button${danger ? '.danger' : ''}`, { type: 'submit', value: 'ok' }, okLabel);
    const dlg = h('dialog.dialog', { 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, title),
        h('div.dialog-body', body),
        h('div.actions', h('button.secondary', { type: 'submit', value: 'cancel' }, t('common.cancel')), ok)));
    document.body.append(dlg);
    dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); });
    dlg.showModal();
    ok.focus();
  });
}

export function copyButton(text, label) {
  const b = h('button.secondary.small', { type: 'button' }, label || t('common.copy'));
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      flash(t('common.copied'));
    } catch {
      flash(t('common.copy_failed'), 'error');
    }
  });
  return b;
}

export function section(title, ...children) {
  const id = uid('sec');
  return h('section.card', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
