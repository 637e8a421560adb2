// api.js — the one way the UI talks to suanlid: same-origin fetch with the session cookie,
// the CSRF token on every write, an Idempotency-Key per user action on money-moving POSTs
// (userAction), and RFC 9457 problems turned into ApiError so that pages can show them in
// words next to what caused them.

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

// request('GET', '/v1/offers', {query, body, headers, accept, idempotencyKey, raw})
// → parsed JSON (or text when raw), with .etag for objects that carry one.
export async function request(method, path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json', ...(opts.headers || {}) };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrf.get();
    if (token) headers['X-CSRF-Token'] = token;
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
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
export const put = (path, body) => request('PUT', path, { body });
export const del = (path, etag) => request('DELETE', path, { headers: etag ? { 'If-Match': etag } : {} });

// ==== user actions ===========================================================================
// An Idempotency-Key belongs to what the user did ("Reserve", "Issue", "Revoke"), not to one
// fetch. userAction(fn) returns a function that runs fn(act, ...args) as one user action:
//   - while it runs, calling it again (a double click, a second Enter) returns the same
//     pending promise: the action runs once;
//   - act.post(path, body) sends its POST under a key made when the action started (the n-th
//     POST of the action gets key.n), and retries it under that same key, up to RETRIES times,
//     when no answer came (the connection dropped, perhaps after the server applied it) or a
//     gateway answered 502/503/504 (the server stores no 5xx): the server replays what it
//     applied, so nothing applies twice;
//   - when every retry went unanswered, the outcome is unknown: the key stays with that exact
//     request, and the user's next try of the same request reuses it. Any real answer (success
//     or a refusal) settles it, and the next action gets a new key.
const RETRIES = 3;
const unanswered = (e) => e instanceof ApiError && [0, 502, 503, 504].includes(e.status);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function userAction(fn) {
  let pending = null;
  const unsettled = new Map(); // request (method, path, body) → its key, outcome unknown
  return (...args) => {
    if (pending) return pending;
    const key = crypto.randomUUID();
    let n = 0;
    const act = {
      async request(method, path, body) {
        const sig = JSON.stringify([method, path, body === undefined ? null : body]);
        const k = unsettled.get(sig) || `${key}.${n++}`;
        unsettled.set(sig, k);
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await request(method, path, { body, idempotencyKey: k });
            unsettled.delete(sig);
            return res;
          } catch (e) {
            if (!unanswered(e)) { unsettled.delete(sig); throw e; }
            if (attempt >= RETRIES) throw e;
            await pause(250 * 2 ** attempt);
          }
        }
      },
      post: (path, body) => act.request('POST', path, body),
    };
    pending = (async () => {
      try {
        return await fn(act, ...args);
      } finally {
        pending = null;
      }
    })();
    return pending;
  };
}

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
