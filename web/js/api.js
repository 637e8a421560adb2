// api.js — the one way the UI talks to suanlid: same-origin fetch with the session cookie,
// the CSRF token on every write, Idempotency-Key on money-moving POSTs, and RFC 9457 problems
// turned into ApiError so that pages can show them in words next to what caused them.

const CSRF_KEY = 'suanli.csrf';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get slug() {
    return typeof this.problem.type === 'string' ? this.problem.type.replace(/^.*\/problems\//, '') : '';
  }
  // The endpoint does not exist on this server (yet): the UI shows "not available".
  get routeMissing() {
    return this.status === 404 && this.slug === 'route-not-found';
  }
}

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export const csrf = {
  get: () => localStorage.getItem(CSRF_KEY),
  set: (v) => (v ? localStorage.setItem(CSRF_KEY, v) : localStorage.removeItem(CSRF_KEY)),
};

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// request('GET', '/v1/offers', {query, body, headers, accept, idempotent, raw})
// → parsed JSON (or text when raw), with .etag for objects that carry one.
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json', ...(opts.headers || {}) };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrf.get();
    if (token) headers['X-CSRF-Token'] = token;
    if (opts.idempotent) headers['Idempotency-Key'] = opts.idempotencyKey || crypto.randomUUID();
  }
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path + query(opts.query), { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { title: 'network', detail: String(e.message || e) });
  }
  const ctype = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    let problem = null;
    if (ctype.includes('json')) problem = await res.json().catch(() => null);
    const err = new ApiError(res.status, problem || { title: res.statusText });
    // An expired session, or a CSRF token lost with the browser's storage: sign in again.
    if ((res.status === 401 && path !== '/v1/sessions') || err.slug === 'csrf-token-invalid') onUnauthenticated(err);
    throw err;
  }
  if (res.status === 204) return null;
  if (opts.raw || !ctype.includes('json')) return res.text();
  const data = await res.json();
  const etag = res.headers.get('ETag');
  if (etag && data && typeof data === 'object') Object.defineProperty(data, 'etag', { value: etag });
  return data;
}

export const get = (path, q, opts) => request('GET', path, { ...opts, query: q });
export const post = (path, body, opts) => request('POST', path, { ...opts, body });
export const patch = (path, body, etag) => request('PATCH', path, { body, headers: etag ? { 'If-Match': etag } : {} });
export const del = (path, etag) => request('DELETE', path, { headers: etag ? { 'If-Match': etag } : {} });

// Every page of a list (bounded), for small lookups like regions or organisations.
export async function all(path, q = {}, max = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < max; i++) {
    const page = await get(path, { ...q, limit: 200, cursor });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// Cached reference data (regions never change; organisations rarely in one sitting).
const cache = new Map();
export function cached(key, fn) {
  if (!cache.has(key)) cache.set(key, fn().catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}
export function clearCache() {
  cache.clear();
}
