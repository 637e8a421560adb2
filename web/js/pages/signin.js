// Sign-in for every role: POST /v1/sessions → {user, csrf_token} and the HttpOnly cookie.
import { post } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, field, onSubmit } from '../ui.js';

export async function render(main, { query, signedIn }) {
  const form = h('form.card.signin-form', { novalidate: true, 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, t('signin.title')),
    h('p.lede', t('signin.lede')),
    query.expired ? h('div.notice.notice-info', { role: 'status' }, t('signin.expired')) : null,
    field({ name: 'email', label: t('signin.email'), type: 'email', required: true, autocomplete: 'username' }),
    field({ name: 'password', label: t('signin.password'), type: 'password', required: true, autocomplete: 'current-password' }),
    h('div.actions', h('button', { type: 'submit' }, t('signin.submit'))));
  onSubmit(form, async (v) => {
    const res = await post('/v1/sessions', { email: v.email, password: v.password });
    signedIn(res.user, res.csrf_token);
  });
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname);
  clear(main, h('div.signin', form, local && h('aside.card.demo-logins', { 'aria-labelledby': 'demo-h' },
      h('h2', { id: 'demo-h' }, t('signin.demo_title')),
      h('p', t('signin.demo_text')),
      h('ul', ['lab@scu.suanli.demo', 'admin@chengdu.suanli.demo', 'auditor@chengdu.suanli.demo',
        'ops@westcloud.suanli.demo'].map((e) => h('li', h('code', e)))))));
  form.querySelector('input[name=email]').focus();
}
