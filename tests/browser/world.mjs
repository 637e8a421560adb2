// world.mjs — what a browser test reads, it makes: each test creates its own institute,
// provider, users, programme, vouchers and offers through the API (as the demo city
// administrator of Chengdu), with names no other test uses, so that no test depends on
// another's data or on the order in which tests run.
import { appendFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { LOGINS, PASSWORD } from './harness.mjs';

let serial = 0;
// A name no other test of this run (or an earlier run on the same database) uses.
export const unique = (prefix) => `${prefix} ${process.pid}-${Date.now() % 1e6}-${++serial}`;

const HOUR = 3600e3;
export const iso = (ms) => new Date(ms).toISOString();

// Every response the suite's own API calls get goes to the contract check, like the pages'.
function record(method, url, status, ctype, text) {
  const file = process.env.SUANLI_TEST_RESPONSES;
  if (!file) return;
  const u = new URL(url);
  const rec = { method, path: u.pathname, status, content_type: ctype };
  if (u.search) rec.query = u.search.slice(1);
  try { rec.body = JSON.parse(text); } catch { rec.text = text; }
  appendFileSync(file, `${JSON.stringify(rec)}\n`);
}

// A signed-in API client: the session cookie and its CSRF token, as the web UI holds them.
export class Client {
  constructor(base) {
    this.base = base;
    this.cookie = null;
    this.csrf = null;
  }

  static async signIn(base, email, password = PASSWORD) {
    const c = new Client(base);
    const r = await c.call('POST', '/v1/sessions', { email, password }, 201);
    c.cookie = r.headers.getSetCookie().map((s) => s.split(';')[0]).join('; ');
    c.csrf = r.json.csrf_token;
    c.me = r.json.user;
    return c;
  }

  // Sends one request and asserts its status; returns {status, json, headers}.
  async call(method, path, body, expect) {
    const headers = { Accept: 'application/json' };
    if (this.cookie) headers.Cookie = this.cookie;
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    record(method, this.base + path, res.status, res.headers.get('content-type') || '', text);
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (expect !== undefined) assert.equal(res.status, expect, `${method} ${path}: ${text}`);
    return { status: res.status, json, headers: res.headers };
  }

  async post(path, body, expect = 201) { return (await this.call('POST', path, body, expect)).json; }
  async get(path, expect = 200) { return (await this.call('GET', path, undefined, expect)).json; }
}

// The demo city administrator, signed in once per test file.
let adminClient = null;
export async function cityAdmin(base) {
  if (!adminClient || adminClient.base !== base) adminClient = await Client.signIn(base, LOGINS.admin);
  return adminClient;
}

// A new organisation of Chengdu (institute or provider) with one user: {org, email, user}.
export async function organisation(base, type, name = unique(type === 'institute' ? 'Test Institute' : 'Test Provider')) {
  const admin = await cityAdmin(base);
  const org = await admin.post('/v1/organizations', { type, name });
  const email = `${type}-${process.pid}-${Date.now() % 1e6}-${++serial}@test.suanli.demo`;
  const user = await admin.post('/v1/users', { email, password: PASSWORD, role: type, organization_id: org.id });
  return { org, email, user };
}

// A programme of Chengdu (every region and class unless overridden): the programme object.
export async function programme(base, fields = {}) {
  const admin = await cityAdmin(base);
  return admin.post('/v1/programs', {
    name: unique('Test programme'), budget_fen: 100000000, max_subsidy_bp: 5000,
    ends_at: iso(Date.now() + 400 * 24 * HOUR), ...fields,
  });
}

// A voucher of `program` for `institute` (an organisation object).
export async function voucher(base, program, institute, faceValueFen, fields = {}) {
  const admin = await cityAdmin(base);
  return admin.post(`/v1/programs/${program.id}/vouchers`, {
    institute_id: institute.id, face_value_fen: faceValueFen, expires_at: iso(Date.now() + 300 * 24 * HOUR), ...fields,
  });
}

// An active offer of the provider whose user is `email`; `fields` override the defaults.
export async function offer(base, email, fields = {}) {
  const provider = await Client.signIn(base, email);
  const from = Math.floor(Date.now() / HOUR) * HOUR;
  return provider.post('/v1/offers', {
    resource_class: 'gpu', accelerator: 'H100', units: 16, fp16_tflops_per_unit: 989, memory_gib_per_unit: 80,
    region: 'ningxia', price_fen_per_unit_hour: 1500, available_from: iso(from), available_until: iso(from + 60 * 24 * HOUR),
    pue: 1.2, green_share: 0.6, ...fields,
  });
}

// A unique accelerator name (the offer search and match filter on it exactly).
export const acceleratorName = (prefix) => `${prefix}-${process.pid % 1000}${Date.now() % 1e5}${++serial}`;
