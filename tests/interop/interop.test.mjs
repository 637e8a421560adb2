// interop.test.mjs — voucher tokens between suanlid and an independent PASETO implementation,
// the npm `paseto` package (v4, by panva), over HTTP against a real suanlid and PostgreSQL:
//   1. suanlid signs: the library verifies a voucher's token with the k4.public of GET /v1/keys,
//      finds the voucher's claims in it, and refuses it tampered with or under another key;
//   2. the library signs: its key pair, imported with `suanlid keygen --import -`, is published
//      by GET /v1/keys under the k4.pid computed here, and tokens the library signs for vouchers
//      suanlid issued verify and redeem in suanlid; keys suanlid does not hold are refused.
// Each test is one assertion about one step, in order: later steps use what earlier ones
// established. Run by tests/interop/check-interop, which provides the database and cleans up.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, test } from 'node:test';

import { blake2b } from '@noble/hashes/blake2.js';
import { InspectFooter, PublicProtocol } from 'paseto';
import {
  ExportPublicKeyFactory,
  ExportSecretKeyFactory,
  GenerateKeyPairFactory,
  ImportPublicKeyFactory,
  SignFactory,
  VerifyFactory,
} from 'paseto/v4/public';

import { keyFile, login, logTail, request, startServer, stopServer, suanlid } from './suanlid.mjs';

// The library's v4.public protocol: sign, verify, key generation, PASERK import and export.
const V4 = new PublicProtocol(
  GenerateKeyPairFactory,
  SignFactory,
  VerifyFactory,
  ImportPublicKeyFactory,
  ExportPublicKeyFactory,
  ExportSecretKeyFactory,
);

const utf8 = new TextEncoder();
const text = new TextDecoder();

// PASERK k4.pid (operations/ID.md): "k4.pid." || base64url(BLAKE2b-264("k4.pid." || k4.public)).
// The paseto package leaves k4 identifiers to extensions; the hash is @noble/hashes'.
function pid(paserk) {
  const h = 'k4.pid.';
  return h + Buffer.from(blake2b(utf8.encode(h + paserk), { dkLen: 33 })).toString('base64url');
}

// The footer suanlid expects: exactly {"kid":"k4.pid.…"}.
const footerOf = (kid) => utf8.encode(JSON.stringify({ kid }));

// Signs claims with a library secret key under kid, as suanlid would.
const librarySign = (secretKey, claims, kid) =>
  V4.Sign(secretKey, claims, { footer: footerOf(kid), addIssuedAt: false });

// The token with the byte at index (negative: from the end) of its decoded body (payload ||
// signature) or footer replaced by f(byte); still well-formed, so only the signature can tell.
function tamper(token, part, index, f) {
  const [v, purpose, body, footer] = token.split('.');
  const bytes = Buffer.from(part === 'footer' ? footer : body, 'base64url');
  const i = index < 0 ? bytes.length + index : index;
  bytes[i] = f(bytes[i]);
  const b64 = bytes.toString('base64url');
  return [v, purpose, part === 'footer' ? body : b64, part === 'footer' ? b64 : footer].join('.');
}

const isoIn = (days) => new Date(Date.now() + days * 86400e3).toISOString();

// State carried from step to step; need() says when the step that sets it did not.
const s = {};
function need(name) {
  if (s[name] === undefined) throw new Error(`an earlier step did not establish ${name}`);
  return s[name];
}

after(async () => {
  if (s.server) await stopServer(s.server); // a failed run: leave nothing running
});

async function issueVoucher(face) {
  const r = await request(need('server'), 'POST', `/v1/programs/${need('programId')}/vouchers`, {
    auth: need('admin'),
    body: { institute_id: need('instituteId'), face_value_fen: face, expires_at: isoIn(30) },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function balance(voucherId) {
  const path = `/v1/vouchers/${voucherId}`;
  const v = await request(need('server'), 'GET', path, { auth: need('lab') });
  return v.json?.balance_fen;
}

// ==== 1. suanlid signs, the library verifies ==================================================

test('suanlid keygen creates the key file; serve --demo-seed starts on the test database', async () => {
  const k = suanlid(['keygen', keyFile]);
  assert.equal(k.status, 0, k.stderr);
  assert.match(k.stdout, /^created .*: signing key k4\.pid\.[A-Za-z0-9_-]{44}$/m);
  s.server = await startServer({ demo: true });
});

test('the Chengdu administrator issues a voucher to the demo institute (201, with its token)', async () => {
  s.admin = await login(need('server'), 'admin@chengdu.suanli.demo');
  s.lab = await login(s.server, 'lab@scu.suanli.demo');
  s.instituteId = s.lab.user.organization_id;
  const programs = await request(s.server, 'GET', '/v1/programs', { auth: s.admin });
  s.programId = programs.json.items.find((p) => p.name === 'Chengdu Compute Voucher 2026')?.id;
  s.voucher = await issueVoucher(300000);
  assert.match(s.voucher.token, /^v4\.public\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
});

test('GET /v1/keys publishes, as the current key, the k4.public of the kid in the token footer', async () => {
  s.kid = JSON.parse(text.decode(InspectFooter(need('voucher').token))).kid;
  const keys = await request(s.server, 'GET', '/v1/keys');
  assert.equal(keys.status, 200);
  const key = keys.json.items.find((k) => k.kid === s.kid);
  assert.ok(key, `no key ${s.kid} in ${keys.text}`);
  assert.match(key.paserk, /^k4\.public\.[A-Za-z0-9_-]{43}$/);
  assert.equal(key.status, 'current');
  s.paserk = key.paserk;
});

test('pid() here reproduces the official PASERK k4.pid test vectors', () => {
  const file = new URL('../data/paserk-k4.json', import.meta.url);
  const good = JSON.parse(readFileSync(file, 'utf8'))['k4.pid'].tests
    .filter((t) => t['expect-fail'] === false);
  assert.equal(good.length, 3);
  for (const t of good) {
    const paserk = `k4.public.${Buffer.from(t.key, 'hex').toString('base64url')}`;
    assert.equal(pid(paserk), t.paserk, t.name);
  }
});

test("the token's kid is the k4.pid of the published k4.public, computed independently", () => {
  assert.equal(pid(need('paserk')), need('kid'));
});

test("V4.Verify with the published k4.public accepts suanlid's token and its exact footer", async () => {
  s.publicKey = await V4.ImportPublicKey(need('paserk'));
  const result = await V4.Verify(s.publicKey, need('voucher').token, { footer: footerOf(s.kid) });
  s.claims = result.claims;
  assert.equal(text.decode(result.footer), `{"kid":"${s.kid}"}`);
});

test("the claims the library verified are exactly the voucher's: id, institute, programme, "
  + 'amount, times', () => {
  const v = need('voucher');
  assert.deepEqual(need('claims'), {
    iss: 'suanli',
    jti: v.id,
    sub: v.institute_id,
    prg: v.program_id,
    amt: v.face_value_fen,
    cur: 'CNY',
    iat: v.issued_at,
    nbf: v.not_before,
    exp: v.expires_at,
  });
});

const byteChanges = {
  'one byte of the payload (a digit of amt)': (t) => {
    const i = Buffer.from(t.split('.')[2], 'base64url').indexOf('"amt":') + 6;
    return tamper(t, 'body', i, (b) => (b === 0x39 ? 0x31 : b + 1));
  },
  'one byte of the signature': (t) => tamper(t, 'body', -1, (b) => b ^ 0x01),
  'one byte of the footer (a character of kid)': (t) =>
    tamper(t, 'footer', -3, (b) => (b === 0x41 ? 0x42 : 0x41)),
  'one character of the token text': (t) => {
    const i = 'v4.public.'.length + 5;
    return t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
  },
};
for (const [what, change] of Object.entries(byteChanges)) {
  test(`the library refuses suanlid's token with ${what} changed`, async () => {
    const forged = change(need('voucher').token);
    assert.notEqual(forged, s.voucher.token);
    await assert.rejects(V4.Verify(need('publicKey'), forged), /signature verification failed/);
  });
}

test("the library refuses suanlid's token checked against another key", async () => {
  const other = await V4.GenerateKeyPair();
  await assert.rejects(V4.Verify(other.publicKey, need('voucher').token),
    /signature verification failed/);
});

// ==== 2. the library signs, suanlid verifies and redeems =====================================

test('the library generates a key pair and exports it as PASERK k4.secret and k4.public', async () => {
  const pair = await V4.GenerateKeyPair({ extractable: true });
  s.libSecretKey = pair.secretKey;
  s.libSecret = await V4.ExportSecretKey(pair.secretKey);
  s.libPublic = await V4.ExportPublicKey(pair.publicKey);
  s.libKid = pid(s.libPublic);
  assert.match(s.libSecret, /^k4\.secret\.[A-Za-z0-9_-]{86}$/);
});

test('suanlid keygen FILE --import - makes the k4.secret on standard input the signing key', () => {
  const k = suanlid(['keygen', keyFile, '--import', '-'], `${need('libSecret')}\n`);
  assert.equal(k.status, 0, k.stderr);
  assert.equal(k.stdout.trim(), `rotated ${keyFile}: signing key ${need('libKid')} (imported)`);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const file = JSON.parse(readFileSync(keyFile, 'utf8'));
  assert.deepEqual(file.signing_keys.map((k) => k.secret === s.libSecret), [false, true]);
});

test('suanlid stops cleanly (exit 0 under LeakSanitizer) and restarts with the imported key', async () => {
  const old = need('server');
  const status = await stopServer(old);
  s.server = undefined;
  assert.deepEqual(status, { code: 0, signal: null }, logTail(old));
  s.server = await startServer();
});

test("GET /v1/keys lists the library's k4.public as current, under the k4.pid computed here", async () => {
  const keys = await request(need('server'), 'GET', '/v1/keys');
  assert.equal(keys.status, 200);
  const mine = keys.json.items.find((k) => k.paserk === need('libPublic'));
  const before = keys.json.items.find((k) => k.kid === need('kid'));
  assert.deepEqual([mine?.kid, mine?.status, before?.status], [s.libKid, 'current', 'retired']);
});

test('vouchers suanlid issues now carry the imported kid and verify in the library', async () => {
  s.admin = await login(need('server'), 'admin@chengdu.suanli.demo');
  s.lab = await login(s.server, 'lab@scu.suanli.demo');
  s.voucher2 = await issueVoucher(200000);
  const libPublicKey = await V4.ImportPublicKey(need('libPublic'));
  const result = await V4.Verify(libPublicKey, s.voucher2.token, { footer: footerOf(s.libKid) });
  s.claims2 = result.claims;
  assert.equal(result.claims.jti, s.voucher2.id);
});

test("the library's token for the same claims and key equals suanlid's byte for byte", async (t) => {
  const token = await librarySign(need('libSecretKey'), need('claims2'), s.libKid);
  t.diagnostic(`suanlid: ${s.voucher2.token}`);
  t.diagnostic(`library: ${token}`);
  assert.equal(token, s.voucher2.token);
});

test('POST /v1/vouchers/verify: a library token for a voucher issued before the import is valid, '
  + 'with its live state', async () => {
  // the claims of the first voucher as suanlid's own token carried them, signed by the library
  s.libToken = await librarySign(need('libSecretKey'), need('claims'), s.libKid);
  const r = await request(need('server'), 'POST', '/v1/vouchers/verify', {
    auth: need('lab'),
    body: { token: s.libToken },
  });
  assert.equal(r.status, 200, r.text);
  const { valid, kid, claims, voucher } = r.json;
  assert.deepEqual([valid, kid, claims, voucher?.id, voucher?.status, voucher?.balance_fen],
    [true, s.libKid, s.claims, s.voucher.id, 'active', 300000]);
});

test('POST /v1/redemptions with the library-signed token redeems against an order of the institute', async () => {
  const lab = need('lab');
  const path = '/v1/offers?resource_class=gpu&limit=1';
  const offers = await request(s.server, 'GET', path, { auth: lab });
  const start = new Date(Math.floor(Date.now() / 86400e3 + 1) * 86400e3); // tomorrow, 00:00 UTC
  const end = new Date(start.getTime() + 10 * 3600e3);
  const order = await request(s.server, 'POST', '/v1/orders', {
    auth: lab,
    body: {
      offer_id: offers.json.items[0].id,
      units: 1,
      start: start.toISOString(),
      end: end.toISOString(),
    },
  });
  assert.equal(order.status, 201, order.text);
  s.orderId = order.json.id;
  const amount = Math.min(Math.floor(order.json.gross_fen / 4), 300000);
  const r = await request(s.server, 'POST', '/v1/redemptions', {
    auth: lab,
    body: { token: need('libToken'), order_id: s.orderId, amount_fen: amount },
  });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(
    [r.json.voucher_id, r.json.order_id, r.json.amount_fen, await balance(s.voucher.id)],
    [s.voucher.id, s.orderId, amount, 300000 - amount],
  );
  s.balance = 300000 - amount;
});

test('a library token signed by a key suanlid does not hold: verify answers voucher-key-unknown', async () => {
  const stranger = await V4.GenerateKeyPair({ extractable: true });
  s.strangerKey = stranger.secretKey;
  const kid = pid(await V4.ExportPublicKey(stranger.publicKey));
  s.strangerToken = await librarySign(stranger.secretKey, need('claims'), kid);
  const r = await request(need('server'), 'POST', '/v1/vouchers/verify', {
    auth: need('lab'),
    body: { token: s.strangerToken },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.json.valid, r.json.reason, r.json.voucher],
    [false, 'voucher-key-unknown', null]);
});

test('POST /v1/redemptions with that token: 400 /problems/voucher-key-unknown, nothing redeemed', async () => {
  const r = await request(need('server'), 'POST', '/v1/redemptions', {
    auth: need('lab'),
    body: { token: need('strangerToken'), order_id: need('orderId'), amount_fen: 1 },
  });
  assert.deepEqual([r.status, r.type, r.json?.type, await balance(s.voucher.id)],
    [400, 'application/problem+json', '/problems/voucher-key-unknown', need('balance')]);
});

test("an unregistered key's token naming the imported kid: voucher-token-invalid in verify and "
  + 'redemption', async () => {
  const forged = await librarySign(need('strangerKey'), need('claims'), need('libKid'));
  const v = await request(need('server'), 'POST', '/v1/vouchers/verify', {
    auth: need('lab'),
    body: { token: forged },
  });
  const r = await request(s.server, 'POST', '/v1/redemptions', {
    auth: s.lab,
    body: { token: forged, order_id: need('orderId'), amount_fen: 1 },
  });
  assert.deepEqual(
    [v.json?.valid, v.json?.reason, r.status, r.json?.type, await balance(s.voucher.id)],
    [false, 'voucher-token-invalid', 400, '/problems/voucher-token-invalid', need('balance')],
  );
});

test('suanlid stops cleanly at the end (exit 0 under LeakSanitizer)', async () => {
  const server = need('server');
  const status = await stopServer(server);
  s.server = undefined;
  assert.deepEqual(status, { code: 0, signal: null }, logTail(server));
});
