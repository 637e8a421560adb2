// Reserving: one offer, or every leg of a matched plan, with vouchers. Every price on this
// page is the server's: the estimate is one POST /v1/quotes (gross, subsidy and net of each
// leg, and which voucher pays how much), and "Reserve" sends exactly that plan as one
// POST /v1/plans, which reserves every leg in one transaction or none. Reserving is one user
// action: a double click or a retry after a dropped answer reuses its Idempotency-Key, so the
// plan is never reserved twice.
import { get, userAction, ApiError } from '../../api.js';
import { t } from '../../i18n.js';
import {
  h, clear, parseYuan, dateTime, badge, table, field, moneyField, onSubmit, showProblem, clearErrors,
  values, flash, confirmDialog, localInput, fromLocalInput,
} from '../../ui.js';
import { regionLabel, pageHeader } from '../common.js';
import { programNames } from './vouchers.js';
import { offerColumns } from './offers.js';
import { myActiveVouchers, voucherChoices, costSummary } from './match.js';

// The legs a reserve page starts from: a plan the match page saved, or one offer (one unit
// for a day from the next full hour); null when there is nothing to reserve.
async function startingLegs(query) {
  if (query.plan) {
    const saved = JSON.parse(sessionStorage.getItem('suanli.plan') || 'null');
    return saved ? { legs: saved.legs, picked: saved.vouchers || [] } : null;
  }
  if (!query.offer_id) return null;
  const offer = await get(`/v1/offers/${encodeURIComponent(query.offer_id)}`);
  const start = new Date();
  start.setMinutes(0, 0, 0);
  start.setHours(start.getHours() + 1);
  const from = new Date(Math.max(start, new Date(offer.available_from)));
  return { legs: [{ offer_id: offer.id, units: 1, start: from.toISOString(), end: new Date(from.getTime() + 24 * 3600000).toISOString(), offer }], picked: [] };
}

export async function reserve(main, { query, navigate }) {
  const started = await startingLegs(query);
  if (!started) { navigate(query.plan ? 'match' : 'offers'); return; }
  const { legs, picked } = started;
  const [myVouchers, names] = await Promise.all([myActiveVouchers(), programNames()]);
  for (const l of legs) if (!l.offer) l.offer = await get(`/v1/offers/${l.offer_id}`);
  const editable = legs.length === 1;
  const l0 = legs[0];
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'res-h' },
    h('h2', { id: 'res-h' }, t('reserve.what')),
    table(offerColumns(new Map()).slice(0, 9).filter((c, i) => i !== 2), legs.map((l) => l.offer), { caption: t('reserve.offers') }),
    editable ? h('div.grid',
      field({ name: 'units', label: t('match.units'), type: 'number', min: 1, max: l0.offer.units, value: l0.units, required: true }),
      field({ name: 'start', label: t('match.start'), type: 'datetime-local', value: localInput(new Date(l0.start)), required: true }),
      field({ name: 'end', label: t('match.end'), type: 'datetime-local', value: localInput(new Date(l0.end)), required: true }))
      : h('ul', legs.map((l) => h('li', t('reserve.leg', { units: l.units, accel: l.offer.accelerator, region: regionLabel(l.offer.region), start: dateTime(l.start), end: dateTime(l.end) })))),
    voucherChoices(myVouchers, names, picked),
    myVouchers.length ? moneyField({ name: 'amount', label: t('reserve.amount'), hint: t('reserve.amount_hint') }) : null,
    h('div.preview', { 'aria-live': 'polite' }),
    h('div.actions', h('button.secondary', { type: 'button', id: 'preview-btn' }, t('reserve.preview')), h('button', { type: 'submit' }, t('reserve.confirm'))));
  const result = h('div.result', { 'aria-live': 'polite' });
  clear(main, pageHeader(t('reserve.title')), form, result);

  // The one editable leg's refusals land on its fields ("legs[0].units" → units).
  const aliases = editable ? { 'legs[0].units': 'units', 'legs[0].start': 'start', 'legs[0].end': 'end' } : {};
  const bad = (field, message) => ({ problem: { errors: [{ field, message }] } });

  // The quote request for the plan as the form now says: legs, vouchers in the order ticked,
  // and the amount typed (fen, exact). Throws a field error for text that is not an amount.
  const quoteRequest = () => {
    const v = values(form);
    const ls = editable ? [{ ...l0, units: Number(v.units), start: fromLocalInput(v.start), end: fromLocalInput(v.end) }] : legs;
    const body = { legs: ls.map((l) => ({ offer_id: l.offer_id, units: l.units, start: l.start, end: l.end })) };
    const ids = [...form.querySelectorAll('input[name=voucher_ids]:checked')].map((c) => c.value);
    if (ids.length) body.voucher_ids = ids;
    if (v.amount) {
      const fen = parseYuan(v.amount);
      if (fen === null) throw bad('amount', t('common.bad_amount'));
      body.amount_fen = Number(fen);
    }
    return body;
  };

  const previewHost = form.querySelector('.preview');
  // Asks the server for the price once and shows it; the quote, or null when refused.
  let asked = 0;
  const showPreview = async (act) => {
    const mine = ++asked;
    try {
      const quote = await act.post('/v1/quotes', quoteRequest());
      if (mine !== asked) return null; // a newer estimate is on its way
      clearErrors(form);
      clear(previewHost, h('h3', t('reserve.estimate')), costSummary(quote, t('reserve.estimate')));
      return quote;
    } catch (e) {
      if (e && e.problem !== undefined) { showProblem(form, e, aliases); return null; }
      throw e;
    }
  };
  const estimate = userAction((act) => showPreview(act));
  form.querySelector('#preview-btn').addEventListener('click', () => estimate());
  await estimate();

  // Reserve: the estimate as the server gives it now, the user's confirmation of that price,
  // then the plan with the vouchers and amounts of that quote, in one request. When no answer
  // came even after the retries, the plan may have been reserved: the next "Reserve" offers
  // that same plan again (same body, so the same Idempotency-Key), not a new quote.
  let unknown = null;
  const reserveAction = userAction(async (act) => {
    const quote = unknown ? unknown.quote : await showPreview(act);
    if (!quote) return;
    const ok = await confirmDialog(t('reserve.confirm_title'), [
      h('p', t('reserve.confirm_text')), costSummary(quote, t('reserve.estimate'))], t('reserve.confirm'));
    if (!ok) return;
    const plan = unknown ? unknown.plan : {
      legs: quote.legs.map((l) => ({
        offer_id: l.offer_id, units: l.units, start: l.start, end: l.end,
        ...(l.vouchers.length ? { vouchers: l.vouchers } : {}),
      })),
    };
    let res;
    try {
      res = await act.post('/v1/plans', plan);
      unknown = null;
    } catch (e) {
      unknown = e instanceof ApiError && [0, 502, 503, 504].includes(e.status) ? { quote, plan } : null;
      if (e && e.problem !== undefined) { showProblem(form, e, aliases); return; }
      throw e;
    }
    sessionStorage.removeItem('suanli.plan');
    clear(result, h('section.card.success', { 'aria-labelledby': 'done-h' },
      h('h2', { id: 'done-h', tabindex: '-1' }, t('reserve.done')),
      costSummary(res, t('reserve.charged')),
      h('ul', res.orders.map((o) => h('li', h('code', o.id), ' ', badge(o.status)))),
      h('div.actions', h('a.button', { href: '#/orders' }, t('nav.orders')), h('a.button.secondary', { href: '#/vouchers' }, t('nav.vouchers')))));
    form.hidden = true;
    result.querySelector('h2').focus();
    flash(t('reserve.done'));
  });
  onSubmit(form, () => reserveAction());
}
