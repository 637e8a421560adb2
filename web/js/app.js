// app.js — the shell: session, role-aware navigation, hash routing, the language switch.
// Each page is a module exporting render(main, ctx); ctx = {me, params, query, navigate}.
import { ApiError, csrf, get, request, setUnauthenticatedHandler, clearCache } from './api.js';
import { t, lang, setLang, onLangChange } from './i18n.js';
import { h, clear, loading, problemBox } from './ui.js';
import { bell } from './bell.js';
import * as signin from './pages/signin.js';
import * as vouchersPage from './pages/institute/vouchers.js';
import * as offersPage from './pages/institute/offers.js';
import * as matchPage from './pages/institute/match.js';
import * as reservePage from './pages/institute/reserve.js';
import * as ordersPage from './pages/institute/orders.js';
import * as redemptionsPage from './pages/institute/redemptions.js';
import * as admin from './pages/admin.js';
import * as audit from './pages/audit.js';
import * as provider from './pages/provider.js';
import * as scheme from './pages/scheme.js';
import * as performancePage from './pages/performance.js';
import * as settlement from './pages/settlement.js';
import * as usagePage from './pages/usage.js';

const IN = 'institute', CA = 'city_admin', AU = 'auditor', PR = 'provider', OP = 'operator';

// path → [page, roles, nav label key | null]
const routes = [
  ['vouchers', vouchersPage.vouchers, [IN], 'nav.vouchers'],
  ['offers', offersPage.offers, [IN, OP, CA, AU], 'nav.offers'],
  ['match', matchPage.match, [IN], 'nav.match'],
  ['reserve', reservePage.reserve, [IN], null],
  ['orders', ordersPage.orders, [IN], 'nav.orders'],
  ['redemptions', redemptionsPage.redemptions, [IN], 'nav.redemptions'],
  ['open-programs', scheme.openPrograms, [IN], 'nav.open_programs'],
  ['apply/:id', scheme.applyForm, [IN], null],
  ['my-applications', scheme.myApplications, [IN], 'nav.my_applications'],
  ['programs', admin.programs, [CA, AU, OP], 'nav.programs'],
  ['applications', scheme.reviewQueue, [CA, AU, OP], 'nav.applications'],
  ['programs/:id/providers', scheme.accreditation, [CA, AU, OP], null],
  ['programs/new', admin.programForm, [CA], null],
  ['programs/:id', admin.programDetail, [CA, AU, OP], null],
  ['programs/:id/edit', admin.programForm, [CA], null],
  ['programs/:id/issue', admin.issue, [CA], null],
  ['vouchers-city', admin.cityVouchers, [CA, AU, OP], 'nav.city_vouchers'],
  ['organizations', admin.organizations, [CA, AU, OP], 'nav.organizations'],
  ['audit', audit.log, [AU, CA, OP], 'nav.audit'],
  ['reports', audit.reports, [AU, CA, OP], 'nav.reports'],
  ['anomalies', audit.anomalies, [AU, CA, OP], 'nav.anomalies'],
  ['performance', performancePage.performance, [AU, CA, OP], 'nav.performance'],
  ['my-offers', provider.offers, [PR], 'nav.my_offers'],
  ['my-offers/new', provider.offerForm, [PR], null],
  ['my-offers/:id/edit', provider.offerForm, [PR], null],
  ['offer-orders', provider.orders, [PR], 'nav.offer_orders'],
  ['utilisation', provider.utilisation, [PR], 'nav.utilisation'],
  ['settlements', settlement.statement, [PR, CA, AU, OP], 'nav.settlements'],
  ['payouts', settlement.payouts, [CA, AU, OP, PR, IN], 'nav.payouts'],
  ['recoveries', settlement.recoveries, [CA, AU, OP], 'nav.recoveries'],
  ['orders/:id/usage', usagePage.usage, [IN, PR, CA, AU, OP], null],
];

const home = { institute: 'vouchers', city_admin: 'programs', auditor: 'audit', provider: 'my-offers', operator: 'audit' };

let me = null;
const main = () => document.getElementById('main');

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: path.replace(/\/$/, ''), query: Object.fromEntries(new URLSearchParams(qs || '')) };
}

export function navigate(path, query) {
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined && v !== null)).toString() : '';
  const target = `#/${path}${qs ? `?${qs}` : ''}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function match(path) {
  const parts = path.split('/');
  for (const [pattern, page, roles, label] of routes) {
    const pp = pattern.split('/');
    if (pp.length !== parts.length) continue;
    const params = {};
    if (pp.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = decodeURIComponent(parts[i])), true) : p === parts[i])))
      return { pattern, page, roles, label, params };
  }
  return null;
}

function renderChrome(current) {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.getElementById('skip-link').textContent = t('nav.skip');
  document.getElementById('nav').setAttribute('aria-label', t('nav.main'));
  const nav = document.getElementById('nav');
  const items = me ? routes.filter(([, , roles, label]) => label && roles.includes(me.role)) : [];
  clear(nav, items.length ? h('ul', items.map(([pattern, , , label]) => h('li',
    h('a', { href: `#/${pattern}`, 'aria-current': current === pattern.split('/')[0] ? 'page' : null }, t(label))))) : null);
  const who = document.getElementById('who');
  clear(who, me ? [
    bell(),
    h('span.who-name', h('span.who-email', me.email), h('span.who-role', `${t(`role.${me.role}`)}${me.organization ? ` · ${me.organization.name}` : ''}`)),
    h('button.secondary.small', { type: 'button', id: 'sign-out', on: { click: signOut } }, t('nav.sign_out')),
  ] : null);
  const ls = document.getElementById('lang-switch');
  clear(ls, h('button.secondary.small', {
    type: 'button', lang: lang() === 'zh' ? 'en' : 'zh-CN', id: 'lang-toggle',
    'aria-label': lang() === 'zh' ? 'Switch to English' : '切换到中文',
    on: { click: () => setLang(lang() === 'zh' ? 'en' : 'zh') },
  }, lang() === 'zh' ? 'English' : '中文'));
}

async function signOut() {
  try {
    await request('DELETE', '/v1/sessions/current');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
  csrf.set(null);
  me = null;
  clearCache();
  navigate('signin');
}

async function render() {
  const { path, query } = parseHash();
  const m = main();
  if (me === null && path !== 'signin') {
    try {
      // Without the CSRF token that signing in stored, this browser holds no session that it
      // could use: go to the sign-in page without asking the server (and logging a 401).
      if (!csrf.get()) throw new ApiError(401, {});
      clear(m, loading());
      me = await get('/v1/me');
    } catch (e) {
      me = null;
      if (!(e instanceof ApiError)) throw e;
      if (e.status !== 401) {
        renderChrome('');
        clear(m, problemBox(e));
        return;
      }
      navigate('signin', path ? { next: location.hash.slice(1) } : undefined);
      return;
    }
  }
  if (path === 'signin') {
    if (me) { navigate(home[me.role]); return; }
    renderChrome('signin');
    document.title = `${t('signin.title')} · Suanli`;
    await signin.render(m, { query, signedIn: (u, tok) => {
      me = u;
      csrf.set(tok);
      clearCache();
      const next = query.next && query.next.startsWith('/') ? query.next : `/${home[u.role] || 'offers'}`;
      if (`#${next}` === location.hash) render();
      else location.hash = next;
    } });
    return;
  }
  const r = path ? match(path) : null;
  if (!r || !r.roles.includes(me.role)) {
    if (!path || !r) { navigate(home[me.role] || 'offers'); return; }
    renderChrome(path.split('/')[0]);
    clear(m, h('h1', t('common.forbidden_title')), h('p', t('common.forbidden_page')));
    return;
  }
  renderChrome(r.pattern.split('/')[0]);
  // Each render owns a fresh container: one overtaken by a later navigation keeps writing into
  // a container that is no longer in the page, and so cannot overwrite the newer page.
  const host = h('div.page', loading());
  clear(m, host);
  try {
    await r.page(host, { me, params: r.params, query, navigate });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) return;
    clear(host, problemBox(e));
  }
  if (!host.isConnected) return;
  const h1 = host.querySelector('h1');
  document.title = `${h1 ? h1.textContent : 'Suanli'} · Suanli 算力`;
}

let focusMain = false;
window.addEventListener('hashchange', () => { focusMain = true; render().then(afterRender); });
function afterRender() {
  // After navigation, move focus to the page heading so screen-reader and keyboard users
  // start at the new content (the nav stays where it was).
  if (!focusMain) return;
  focusMain = false;
  const h1 = main().querySelector('h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: false }); }
}
// The skip link must not change the hash (that is the router's): it moves the focus itself.
document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main().focus();
});
setUnauthenticatedHandler(() => {
  if (me) { me = null; csrf.set(null); navigate('signin', { next: location.hash.slice(1), expired: '1' }); }
});
onLangChange(() => render());
render();
