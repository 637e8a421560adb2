// Reference data and pieces shared by several pages.
import { get, all, cached, ApiError } from '../api.js';
import { t } from '../i18n.js';
import { h } from '../ui.js';

export const CLASSES = ['gpu', 'npu', 'cpu'];
export const ZONES = ['east', 'west'];

export const regions = () => cached('regions', async () => (await get('/v1/regions')).items || []);

export const regionLabel = (code) => t(`region.${code}`, null, true) || code;

// Organisations the caller may see, by id (empty when the role sees none of that type).
export function orgs(type) {
  return cached(`orgs:${type}`, async () => {
    try {
      return await all('/v1/organizations', { type });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return [];
      throw e;
    }
  });
}

export async function orgNames(type) {
  const list = await orgs(type);
  return new Map(list.map((o) => [o.id, o.name]));
}

// The tail of a UUID: the head of a UUIDv7 is its timestamp, the same for ids made together.
export const shortId = (id) => (id ? `…${String(id).slice(-8)}` : '—');

export function idCell(id, names) {
  const name = names && names.get(id);
  return name ? h('span', { title: id }, name) : h('code.id', { title: id }, shortId(id));
}

// Optional helpers for endpoints that other parts of the API add over time.
export async function optional(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof ApiError && (e.routeMissing || e.status === 403)) return { ok: false, error: e };
    throw e;
  }
}

export function pageHeader(title, ...actions) {
  return h('div.page-head', h('h1', title), actions.length ? h('div.actions', ...actions) : null);
}

// Decimal text / 100 for a percentage input, without binary rounding surprises in the text.
export function percentToShare(p) {
  if (p === '' || p === null || p === undefined) return undefined;
  const n = Number(p);
  if (!Number.isFinite(n)) return NaN;
  return Math.round(n * 100) / 10000;
}

export function shareToPercent(s) {
  if (s === null || s === undefined || s === '') return '';
  return String(Math.round(Number(s) * 10000) / 100);
}
