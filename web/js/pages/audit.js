// Auditor (and administrator) pages: the audit log with its filters and the chain's
// verification state, subsidy reports with charts and CSV download, anomaly flags.
import { get, request, ApiError } from '../api.js';
import { t, lang } from '../i18n.js';
import {
  h, clear, money, timeEl, loading, empty, notAvailable, problemBox, table, pager, field, onSubmit,
  showProblem, section, download, localInput, fromLocalInput, num, badge,
} from '../ui.js';
import { barChart, columnChart } from '../charts.js';
import { regionLabel, orgNames, shortId, pageHeader, optional } from './common.js';

// ==== audit log ===============================================================================

const AUDIT_FILTERS = ['from', 'to', 'action', 'subject_type', 'subject_id', 'actor_id', 'program_id', 'order'];

function verifyBox(res) {
  if (!res.ok) return notAvailable(t('audit.verify_unavailable'));
  const v = res.value || {};
  const ok = v.ok === true || v.valid === true || v.status === 'ok' || v.verified === true;
  const facts = Object.entries(v).filter(([k, x]) => !['ok', 'valid', 'status', 'verified'].includes(k) && x !== null && typeof x !== 'object');
  const bad = v.first_bad && typeof v.first_bad === 'object' ? v.first_bad : null;
  return h(`div.notice.${ok ? 'notice-ok' : 'notice-error'}.verify`, { role: ok ? 'status' : 'alert', dataset: { verified: ok ? 'ok' : 'failed' } },
    h('strong', ok ? t('audit.verified_ok') : t('audit.verified_failed')),
    bad ? h('p', t('audit.first_bad', { position: bad.position, seq: bad.seq ?? '—', reason: t(`audit.reason.${bad.reason}`, null, true) || bad.reason }), bad.detail ? ` ${bad.detail}` : '') : null,
    facts.length ? h('dl.kv.compact', facts.flatMap(([k, x]) => [h('dt', t(`audit.v.${k}`, null, true) || k), h('dd', k === 'head_hash' ? h('code.hash', String(x)) : typeof x === 'number' ? num(x) : String(x))])) : null,
    Array.isArray(v.problems || v.errors) && (v.problems || v.errors).length
      ? h('ul', (v.problems || v.errors).map((p) => h('li', typeof p === 'string' ? p : JSON.stringify(p)))) : null);
}

export async function log(main, { query, navigate }) {
  const form = h('form.card.filters', { novalidate: true, role: 'search', 'aria-label': t('audit.filters') },
    h('div.grid',
      field({ name: 'from', label: t('audit.from'), type: 'datetime-local', value: query.from ? localInput(new Date(query.from)) : '' }),
      field({ name: 'to', label: t('audit.to'), type: 'datetime-local', value: query.to ? localInput(new Date(query.to)) : '' }),
      field({ name: 'action', label: t('audit.action'), value: query.action, placeholder: 'voucher.issue' }),
      field({ name: 'subject_type', label: t('audit.subject_type'), value: query.subject_type, placeholder: 'voucher' }),
      field({ name: 'subject_id', label: t('audit.subject_id'), value: query.subject_id, placeholder: 'UUID' }),
      field({ name: 'actor_id', label: t('audit.actor_id'), value: query.actor_id, placeholder: 'UUID' }),
      field({ name: 'program_id', label: t('audit.program_id'), value: query.program_id, placeholder: 'UUID' }),
      field({ name: 'order', label: t('audit.order'), type: 'select', value: query.order || 'desc', options: [['desc', t('audit.newest')], ['asc', t('audit.oldest')]] })),
    h('div.actions', h('button', { type: 'submit' }, t('common.apply')), h('a.button.secondary', { href: '#/audit' }, t('common.reset'))));
  onSubmit(form, async (v) => {
    const q = {};
    for (const k of AUDIT_FILTERS) if (v[k]) q[k] = k === 'from' || k === 'to' ? fromLocalInput(v[k]) : v[k];
    navigate('audit', q);
  });
  const verifyHost = h('div', loading());
  const list = h('div');
  const exportBtn = h('button.secondary', { type: 'button' }, t('audit.export'));
  exportBtn.addEventListener('click', async () => {
    exportBtn.disabled = true;
    try {
      const text = await request('GET', '/v1/audit/export', { accept: 'application/x-ndjson, application/jsonl, */*', raw: true });
      download('audit-export.jsonl', text, 'application/x-ndjson');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      verifyHost.append(problemBox(e));
    } finally {
      exportBtn.disabled = false;
    }
  });
  clear(main, pageHeader(t('audit.title'), exportBtn), section(t('audit.chain'), verifyHost), form, list);
  optional(() => get('/v1/audit/verify')).then((r) => clear(verifyHost, verifyBox(r)), (e) => clear(verifyHost, problemBox(e)));
  const q = { order: 'desc' };
  for (const k of AUDIT_FILTERS) if (query[k]) q[k] = query[k];
  let first;
  try {
    first = await get('/v1/audit/events', { ...q, limit: 50 });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.routeMissing) { clear(list, notAvailable(t('audit.unavailable'))); return; }
    if (e.slug === 'invalid-query') { showProblem(form, e); return; }
    throw e;
  }
  await pager(list, (cursor) => (cursor ? get('/v1/audit/events', { ...q, limit: 50, cursor }) : first), (items) => table([
    { label: '#', head: true, num: true, cell: (e) => String(e.seq) },
    { label: t('audit.at'), cell: (e) => timeEl(e.at) },
    { label: t('audit.actor'), cell: (e) => h('span', e.actor_role ? t(`role.${e.actor_role}`, null, true) || e.actor_role : t('audit.system'), e.actor_user_id ? h('code.id', { title: e.actor_user_id }, ` ${shortId(e.actor_user_id)}`) : null) },
    { label: t('audit.action'), cell: (e) => h('code', e.action) },
    { label: t('audit.subject'), cell: (e) => h('span', e.subject_type, ' ', e.subject_id ? h('code.id', { title: e.subject_id }, shortId(e.subject_id)) : null) },
    { label: t('audit.data'), cell: (e) => h('details', h('summary', t('audit.show')), h('pre.json', JSON.stringify(e.data, null, 2)), e.request_id ? h('p.muted', `request ${e.request_id}`) : null) },
  ], items, { caption: t('audit.events') }), t('audit.empty'));
}

// ==== reports ==================================================================================

const GROUPS = ['month', 'zone', 'region', 'provider', 'institute', 'program'];

// A report row's group key, its label and its amount, whatever the report calls them.
function keyOf(item, group) {
  return item[group] ?? item[`${group}_id`] ?? item.key ?? item.group ?? null;
}
function amountOf(item) {
  return item.subsidy_fen ?? item.redeemed_fen ?? item.amount_fen ?? item.net_redeemed_fen ?? 0;
}
function labelOf(item, group, names) {
  const key = keyOf(item, group);
  if (item[`${group}_name`]) return item[`${group}_name`];
  if (item.name) return item.name;
  // Movements without an order (issuance, release) have no provider, region or zone.
  if (key === null || key === undefined) return '—';
  if (group === 'region') return regionLabel(key) || String(key);
  if (group === 'zone') return t(`zone.${key}`, null, true) || String(key);
  if (names && names.has(key)) return names.get(key);
  return key === null ? '—' : String(key).length === 36 ? shortId(key) : String(key);
}

export async function reports(main, { query, navigate }) {
  const group = GROUPS.includes(query.group_by) ? query.group_by : 'month';
  const names = new Map([...(await orgNames('institute')), ...(await orgNames('provider'))]);
  const form = h('form.card.filters', { novalidate: true, 'aria-label': t('reports.filters') },
    h('div.grid',
      field({ name: 'group_by', label: t('reports.group_by'), type: 'select', value: group, options: GROUPS.map((g) => [g, capitalise(t(`reports.by.${g}`))]) }),
      field({ name: 'from', label: t('audit.from'), type: 'datetime-local', value: query.from ? localInput(new Date(query.from)) : '' }),
      field({ name: 'to', label: t('audit.to'), type: 'datetime-local', value: query.to ? localInput(new Date(query.to)) : '' })),
    h('div.actions', h('button', { type: 'submit' }, t('reports.show'))));
  onSubmit(form, async (v) => navigate('reports', { group_by: v.group_by, from: fromLocalInput(v.from), to: fromLocalInput(v.to) }));
  const q = { group_by: group, from: query.from, to: query.to };
  const tableHost = h('div', loading());
  const charts = h('div.chart-grid');
  clear(main, pageHeader(t('reports.title')), form, section(t('reports.table', { by: t(`reports.by.${group}`) }), tableHost), section(t('reports.charts'), charts));
  let res;
  try {
    res = await get('/v1/reports/subsidies', q);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.routeMissing) {
      clear(tableHost, notAvailable(t('reports.unavailable')));
      clear(charts, notAvailable(t('reports.unavailable')));
      return;
    }
    if (e.slug === 'invalid-query') { clear(tableHost); showProblem(form, e); return; }
    throw e;
  }
  const items = res.items || [];
  renderReportTable(tableHost, items, res, group, names, q);
  // The five views the auditors asked for, each its own query.
  for (const g of ['month', 'zone', 'region', 'provider', 'institute']) {
    const box = h('div.chart-box', h('h3', t(`reports.chart.${g}`)), loading());
    charts.append(box);
    const data = g === group ? res : await get('/v1/reports/subsidies', { ...q, group_by: g }).catch((e) => ({ error: e }));
    box.lastChild.remove();
    if (data.error) { box.append(problemBox(data.error)); continue; }
    const rows = (data.items || []).map((it) => ({ label: labelOf(it, g, names), value: String(amountOf(it)) }));
    if (!rows.length) { box.append(empty(t('reports.empty'))); continue; }
    const title = `${t(`reports.chart.${g}`)}: ${rows.map((r) => `${r.label} ${money(r.value)}`).join('; ')}`;
    box.append(g === 'month' ? columnChart(rows, { title, format: shortMoney }) : barChart(rows, { title, format: money }));
  }
}

// Column labels: ¥12.5k / ¥1.3万 above ten thousand yuan (the table has the exact figures).
function shortMoney(fen) {
  const yuan = Number(BigInt(fen) / 100n);
  return yuan >= 10000 ? (lang() === 'zh' ? `¥${num(yuan / 10000, 1)}万` : `¥${num(yuan / 1000, 1)}k`) : money(fen);
}

const capitalise = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function renderReportTable(host, items, res, group, names, q) {
  if (!items.length) { clear(host, empty(t('reports.empty'))); return; }
  let keys = [...new Set(items.flatMap((i) => Object.keys(i)))];
  if (keys.includes(`${group}_name`)) keys = keys.filter((k) => k !== `${group}_id`);
  const first = [`${group}_name`, group, `${group}_id`].find((k) => keys.includes(k));
  if (first) keys = [first, ...keys.filter((k) => k !== first)];
  const fenKeys = keys.filter((k) => k.endsWith('_fen'));
  const cols = keys.map((k) => ({
    label: t(`reports.col.${k}`, null, true) || k,
    num: k.endsWith('_fen') || typeof items[0][k] === 'number',
    head: k === keys[0],
    cell: (it) => (k.endsWith('_fen') ? money(it[k]) : k === group || k === `${group}_id` ? labelOf(it, group, names) : it[k] === null ? '—' : String(it[k])),
  }));
  const totals = {};
  for (const k of fenKeys) totals[k] = items.reduce((s, it) => s + BigInt(it[k] ?? 0), 0n).toString();
  const tb = table(cols, items, { caption: t('reports.table', { by: t(`reports.by.${group}`) }) });
  tb.querySelector('table').append(h('tfoot', h('tr.totals', keys.map((k, i) => (i === 0
    ? h('th', { scope: 'row' }, t('reports.total'))
    : h('td', { class: k.endsWith('_fen') ? 'num' : null, dataset: k.endsWith('_fen') ? { total: k } : {} }, k.endsWith('_fen') ? money(totals[k]) : ''))))));
  const dl = h('button', { type: 'button', id: 'csv-download' }, t('reports.csv'));
  dl.addEventListener('click', async () => {
    dl.disabled = true;
    try {
      const csv = await request('GET', '/v1/reports/subsidies', { query: q, accept: 'text/csv', raw: true });
      download(`subsidies-by-${group}.csv`, csv, 'text/csv');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      host.append(problemBox(e));
    } finally {
      dl.disabled = false;
    }
  });
  clear(host, h('div.actions', dl), tb);
}

// ==== anomalies ================================================================================

const HOUR = 3600000;

// Flags computed from the audit log the caller may read (the newest events, at most
// 10 pages), for servers without an anomaly endpoint. Each flag names what to look at.
export function detectAnomalies(events) {
  const flags = [];
  const byTime = [...events].sort((a, b) => a.seq - b.seq);
  const issued = new Map();
  const failed = new Map();
  const redeemedBy = new Map();
  const revoked = new Set();
  for (const e of byTime) {
    const at = Date.parse(e.at);
    const d = e.data || {};
    if (e.action === 'voucher.issue') issued.set(e.subject_id, { face: d.face_value_fen, expires: Date.parse(d.expires_at), institute: d.institute_id });
    if (e.action === 'session.login_failed') {
      const key = d.email || e.subject_id || '?';
      const list = (failed.get(key) || []).filter((t0) => at - t0 < 10 * 60000);
      list.push(at);
      failed.set(key, list);
      if (list.length === 3) flags.push({ kind: 'failed_logins', severity: 'high', subject_type: 'user', subject_id: e.subject_id, at: e.at, detail: t('anomalies.d.failed_logins', { who: key, n: list.length }) });
    }
    if (e.action === 'redemption.create') {
      const v = issued.get(d.voucher_id);
      if (v && v.expires && v.expires - at < 7 * 24 * HOUR)
        flags.push({ kind: 'near_expiry', severity: 'low', subject_type: 'voucher', subject_id: d.voucher_id, at: e.at, detail: t('anomalies.d.near_expiry', { amount: money(d.amount_fen), days: Math.max(0, Math.floor((v.expires - at) / (24 * HOUR))) }) });
      const org = e.actor_org_id || '?';
      const list = (redeemedBy.get(org) || []).filter((t0) => at - t0 < HOUR);
      list.push(at);
      redeemedBy.set(org, list);
      if (list.length === 5) flags.push({ kind: 'burst', severity: 'medium', subject_type: 'organization', subject_id: org, at: e.at, detail: t('anomalies.d.burst', { n: list.length }) });
    }
    if (e.action === 'redemption.reverse')
      flags.push({ kind: 'reversal', severity: 'medium', subject_type: 'order', subject_id: d.order_id, at: e.at, detail: t('anomalies.d.reversal', { amount: money(d.amount_fen) }) });
    if (e.action === 'voucher.revoke' && !revoked.has(e.subject_id)) {
      revoked.add(e.subject_id);
      const v = issued.get(e.subject_id);
      if (v && v.face !== undefined && BigInt(d.released_fen ?? 0) < BigInt(v.face))
        flags.push({ kind: 'revoked_after_use', severity: 'medium', subject_type: 'voucher', subject_id: e.subject_id, at: e.at, detail: t('anomalies.d.revoked_after_use', { used: money((BigInt(v.face) - BigInt(d.released_fen ?? 0)).toString()), face: money(v.face) }) });
    }
  }
  return flags.reverse();
}

export async function anomalies(main) {
  const head = [pageHeader(t('anomalies.title')), h('p.lede', t('anomalies.lede'))];
  clear(main, ...head, loading());
  const r = await optional(() => get('/v1/reports/anomalies', { limit: 100 }));
  let items;
  let note;
  if (r.ok) {
    items = r.value.items || [];
  } else {
    const ev = await optional(async () => {
      const all = [];
      let cursor = null;
      for (let i = 0; i < 10; i++) {
        const page = await get('/v1/audit/events', { order: 'desc', limit: 200, cursor });
        all.push(...(page.items || []));
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      return all;
    });
    if (!ev.ok) { clear(main, ...head, notAvailable(t('anomalies.unavailable'))); return; }
    items = detectAnomalies(ev.value);
    note = h('div.notice.notice-info', { role: 'note' }, t('anomalies.local', { n: num(ev.value.length) }));
  }
  clear(main, ...head, note || null,
    items.length ? table([
      { label: t('anomalies.kind'), head: true, cell: (a) => t(`anomalies.k.${a.kind}`, null, true) || a.kind || a.type },
      { label: t('anomalies.severity'), cell: (a) => (a.severity ? badge(a.severity) : '—') },
      { label: t('audit.subject'), cell: (a) => h('span', a.subject_type || '', ' ', a.subject_id ? h('a', { href: `#/audit?subject_id=${a.subject_id}`, title: a.subject_id }, shortId(a.subject_id)) : '') },
      { label: t('anomalies.detail'), cell: (a) => (a.explanation ? h('span', { title: a.explanation }, a.detail || '') : a.detail || a.message || '') },
      { label: t('audit.at'), cell: (a) => timeEl(a.at || a.detected_at || a.created_at) },
    ], items, { caption: t('anomalies.title') }) : empty(t('anomalies.empty')));
}

