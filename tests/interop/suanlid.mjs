// suanlid.mjs — what the interoperability test needs of suanlid: its command line (keygen), real
// `suanlid serve` processes of the test build against the test PostgreSQL, and HTTP with the
// cookie and CSRF token of a session. Every response is appended to SUANLI_TEST_RESPONSES, as
// the C harness does, so that the contract suite checks it against openapi.yaml.
//
// Environment (set by tests/interop/check-interop, most of it by tests/run-all):
//   SUANLI_TEST_BIN   the sanitised suanlid    INTEROP_DB   libpq conninfo of a fresh database
//   INTEROP_DIR       private scratch directory (key file, pids of the servers running)
//   SUANLI_TEST_LOGS  where server logs go (default INTEROP_DIR)
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const BIN = process.env.SUANLI_TEST_BIN;
const DIR = process.env.INTEROP_DIR;
const DB = process.env.INTEROP_DB;
if (!BIN || !DIR || !DB) {
  throw new Error('SUANLI_TEST_BIN, INTEROP_DIR and INTEROP_DB must be set: '
    + 'run tests/interop/check-interop');
}

export const keyFile = join(DIR, 'keys.json');

// `suanlid ARGS…` to completion with input on its standard input: {status, stdout, stderr}.
export function suanlid(args, input = '') {
  const env = { ...process.env, SUANLI_LOG_LEVEL: 'warn' };
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The pids of the servers running now, for check-interop to stop should this process die first.
const running = new Set();
const savePids = () => writeFileSync(join(DIR, 'pids'), [...running].map((p) => `${p}\n`).join(''));

// Starts `suanlid serve --migrate` (with --demo-seed when asked) on a free port with the key
// file; resolves once /healthz answers 200. The server is checked for leaks: it must exit 0.
export async function startServer({ demo = false } = {}) {
  const port = await freePort();
  const log = join(process.env.SUANLI_TEST_LOGS || DIR, `suanlid-interop-${port}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(BIN, ['serve', '--migrate', ...(demo ? ['--demo-seed'] : [])], {
    stdio: ['ignore', 'ignore', fd],
    env: {
      ...process.env,
      DATABASE_URL: DB,
      SUANLI_KEY_FILE: keyFile,
      SUANLI_LISTEN: `127.0.0.1:${port}`,
      SUANLI_THREADS: '4',
      SUANLI_LOG_LEVEL: 'warn',
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
    },
  });
  closeSync(fd);
  running.add(child.pid);
  savePids();
  let gone = false;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    gone = true;
    running.delete(child.pid);
    savePids();
    resolve({ code, signal });
  }));
  const server = { base: `http://127.0.0.1:${port}`, child, exited, log };
  for (let i = 0; i < 900 && !gone; i++) {
    try {
      const r = await fetch(`${server.base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!gone) child.kill('SIGKILL');
  throw new Error(`suanlid did not become healthy; ${log} ends:\n${logTail(server)}`);
}

// SIGTERM, then its exit: {code, signal}. Code 0 means a clean stop without leaks.
export async function stopServer(server) {
  server.child.kill('SIGTERM');
  const timeout = setTimeout(() => server.child.kill('SIGKILL'), 60000);
  const status = await server.exited;
  clearTimeout(timeout);
  return status;
}

// The end of a server's log (its LeakSanitizer report, say), for a failure message.
export const logTail = (server) => readFileSync(server.log, 'utf8').slice(-3000);

function record(method, path, status, contentType, json, text) {
  const file = process.env.SUANLI_TEST_RESPONSES;
  if (!file || !status) return;
  const line = { method, path: path.split('?')[0], status, content_type: contentType ?? '' };
  const q = path.indexOf('?');
  if (q >= 0) line.query = path.slice(q + 1);
  if (json !== undefined) line.body = json;
  else line.text = text;
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

// One request as auth (a session from login(), or none): {status, type, json, text, headers}.
export async function request(server, method, path, { auth, body } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    headers.Cookie = auth.cookie;
    if (method !== 'GET') headers['X-CSRF-Token'] = auth.csrf;
  }
  const r = await fetch(server.base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await r.text();
  const type = r.headers.get('content-type');
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  record(method, path, r.status, type, json, text);
  return { status: r.status, type, json, text, headers: r.headers };
}

// Signs in with a demo login (password suanli-demo): {cookie, csrf, user}.
export async function login(server, email) {
  const r = await fetch(`${server.base}/v1/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: 'suanli-demo' }),
    signal: AbortSignal.timeout(30000),
  });
  const json = await r.json();
  record('POST', '/v1/sessions', r.status, r.headers.get('content-type'), json);
  if (r.status !== 201) throw new Error(`login ${email}: HTTP ${r.status} ${JSON.stringify(json)}`);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: json.csrf_token, user: json.user };
}
