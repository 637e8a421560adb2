// The institute's vouchers: balance against face value, validity, the token with a copy
// button and its QR code.
import { get } from '../../api.js';
import { t } from '../../i18n.js';
import { h, clear, money, timeEl, badge, loading, empty, notAvailable, problemBox, pager, copyButton } from '../../ui.js';
import { shortId, pageHeader, optional } from '../common.js';

// Institutes may not read programmes; each voucher names the programme that funds it.
export async function programNames() {
  const r = await optional(async () => (await get('/v1/vouchers', { limit: 200 })).items || []);
  return new Map((r.ok ? r.value : []).map((v) => [v.program_id, v.program_name]));
}

// The QR encoder is vendored from npm (make web-vendor); without it the token still shows.
export async function qrSvg(text) {
  let qrcode;
  try {
    qrcode = (await import('../../../vendor/qrcode.mjs')).default;
  } catch {
    return h('p.muted', t('vouchers.qr_missing'));
  }
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `-4 -4 ${n + 8} ${n + 8}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('vouchers.qr_label'));
  const bg = document.createElementNS(ns, 'rect');
  Object.entries({ x: -4, y: -4, width: n + 8, height: n + 8, fill: '#fff' }).forEach(([k, v]) => bg.setAttribute(k, v));
  svg.append(bg);
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c} ${r}h1v1h-1z`;
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}

export function balanceBar(balance, face) {
  const b = BigInt(balance ?? 0), f = BigInt(face || 1);
  const pct = f > 0n ? Number((b * 1000n) / f) / 10 : 0;
  return h('div.balance',
    h('meter', { min: 0, max: 100, low: 20, optimum: 100, value: pct, 'aria-label': t('vouchers.balance_of_face') }),
    h('span', t('vouchers.balance_line', { balance: money(balance), face: money(face) })));
}

export async function vouchers(main) {
  clear(main, pageHeader(t('vouchers.title')), loading());
  const res = await optional(() => get('/v1/vouchers', { limit: 200 }));
  if (!res.ok) { clear(main, pageHeader(t('vouchers.title')), notAvailable(t('vouchers.unavailable'))); return; }
  const names = await programNames();
  const list = h('div.voucher-list');
  clear(main, pageHeader(t('vouchers.title'), h('a.button', { href: '#/match' }, t('nav.match'))), list);
  await pager(list, async (cursor) => (cursor ? get('/v1/vouchers', { limit: 50, cursor }) : res.value),
    (items) => h('div.cards', items.map((v) => voucherCard(v, names))), t('vouchers.empty'));
}

function voucherCard(v, names) {
  const tokenHost = h('div.token-host');
  const show = h('button.secondary', { type: 'button', 'aria-expanded': 'false' }, t('vouchers.show_token'));
  show.addEventListener('click', async () => {
    if (show.getAttribute('aria-expanded') === 'true') {
      clear(tokenHost);
      show.setAttribute('aria-expanded', 'false');
      show.textContent = t('vouchers.show_token');
      return;
    }
    clear(tokenHost, loading());
    try {
      const token = v.token || (await get(`/v1/vouchers/${v.id}`)).token;
      if (!token) { clear(tokenHost, empty(t('vouchers.no_token'))); return; }
      const tid = `tok-${v.id}`;
      clear(tokenHost,
        h('label', { for: tid }, t('vouchers.token')),
        h('textarea.token', { id: tid, readonly: true, rows: 3 }, token),
        h('div.actions', copyButton(token, t('vouchers.copy_token'))),
        await qrSvg(token));
      show.setAttribute('aria-expanded', 'true');
      show.textContent = t('vouchers.hide_token');
    } catch (e) {
      clear(tokenHost, problemBox(e));
    }
  });
  const program = names.get(v.program_id) || shortId(v.program_id);
  const title = t('vouchers.card_title', { amount: money(v.face_value_fen) });
  return h('article.card.voucher', { dataset: { id: v.id }, 'aria-label': `${t('vouchers.voucher')} ${title}` },
    h('div.voucher-head', h('h2', title), badge(v.status)),
    balanceBar(v.balance_fen, v.face_value_fen),
    h('dl.kv',
      h('dt', t('vouchers.program')), h('dd', program),
      h('dt', t('vouchers.balance')), h('dd.balance-value', money(v.balance_fen)),
      h('dt', t('vouchers.valid_from')), h('dd', timeEl(v.not_before)),
      h('dt', t('vouchers.expires')), h('dd', timeEl(v.expires_at)),
      h('dt', t('vouchers.id')), h('dd', h('code', v.id))),
    h('div.actions', show), tokenHost);
}
