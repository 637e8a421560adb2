// docs.js — renders /openapi.yaml (OpenAPI 3.1) as a readable, navigable page at /docs:
// every operation with its parameters, request body, responses and their schemas.
import { load } from '../vendor/js-yaml.mjs';
import { h, clear } from './ui.js';

let spec;

// Resolves a local $ref ("#/components/schemas/Offer") to its object.
function deref(o) {
  let seen = 0;
  while (o && o.$ref && seen++ < 20) {
    o = o.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((x, k) => (x ? x[k] : undefined), spec);
  }
  return o || {};
}

const refName = (o) => (o && o.$ref ? o.$ref.split('/').pop() : null);

// Text with `code` spans and blank-line paragraphs (the subset of Markdown the file uses).
function inline(text) {
  return String(text).split(/(`[^`]+`)/).map((part) => (part.startsWith('`') && part.endsWith('`') ? h('code', part.slice(1, -1)) : part.replace(/\s*\n\s*/g, ' ')));
}

function prose(text) {
  if (!text) return null;
  return h('div.prose', String(text).trim().split(/\n\s*\n/).map((para) => h('p', inline(para))));
}

function typeOf(s0) {
  const s = deref(s0);
  const name = refName(s0);
  let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || (s.properties ? 'object' : s.oneOf ? 'one of' : s.anyOf ? 'any of' : s.allOf ? 'all of' : '');
  if (t === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) t = `array of ${typeOf(s.items || {})}`;
  if (s.format) t += ` (${s.format})`;
  if (s.const !== undefined) t += ` = ${JSON.stringify(s.const)}`;
  return name ? `${name}${t && t !== 'object' ? ` · ${t}` : ''}` : t || 'any';
}

function constraints(s) {
  const out = [];
  if (s.enum) out.push(`one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  for (const [k, label] of [['minimum', '≥'], ['maximum', '≤'], ['exclusiveMinimum', '>'], ['exclusiveMaximum', '<'], ['minLength', 'length ≥'], ['maxLength', 'length ≤'], ['minItems', 'items ≥'], ['maxItems', 'items ≤']])
    if (s[k] !== undefined) out.push(`${label} ${s[k]}`);
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out.length ? h('span.muted', ` — ${out.join('; ')}`) : null;
}

// A schema as a nested list of its properties (collapsed below the first level).
function schema(s0, depth = 0, seen = new Set()) {
  const s = deref(s0);
  const name = refName(s0);
  if (name && seen.has(name)) return h('span.muted', `(${name}, see above)`);
  const next = new Set(seen);
  if (name) next.add(name);
  const parts = [];
  if (s.description && depth === 0) parts.push(prose(s.description));
  const variants = s.oneOf || s.anyOf || s.allOf;
  if (variants) parts.push(h('ul.schema', variants.map((v) => h('li', h('strong', typeOf(v)), depth < 4 ? schema(v, depth + 1, next) : null))));
  const items = s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array')) ? deref(s.items) : null;
  const props = (items && items.properties ? items : s).properties;
  const required = new Set(((items && items.properties ? items : s).required) || []);
  if (props && depth < 5) {
    parts.push(h('ul.schema', Object.entries(props).map(([k, v]) => {
      const d = deref(v);
      const nested = (d.properties || d.oneOf || d.anyOf || d.allOf || (d.items && (deref(d.items).properties || deref(d.items).oneOf))) ? schema(v, depth + 1, next) : null;
      const line = [h('code.prop', k), required.has(k) ? h('span.req-badge', 'required') : null, ' ', h('span.type', typeOf(v)), constraints(d),
        d.description ? h('span.prop-desc', ' ', inline(d.description.trim())) : null];
      return h('li', nested ? h('details', h('summary', line), nested) : line);
    })));
  }
  return parts.length ? h('div.schema-box', parts) : null;
}

function content(c) {
  if (!c) return null;
  return Object.entries(c).map(([type, m]) => h('div.media', h('p', h('code', type), ' ', h('span.type', m.schema ? typeOf(m.schema) : '')), m.schema ? schema(m.schema) : null));
}

function paramTable(params, what) {
  const row = (p) => h('tr',
    h('th', { scope: 'row' }, h('code', p.name), p.required ? h('span.req-badge', 'required') : null),
    h('td', p.in),
    h('td', p.schema ? typeOf(p.schema) : '', p.schema ? constraints(deref(p.schema)) : null),
    h('td', p.description ? inline(p.description.trim()) : ''));
  return h('div.table-wrap', h('table.data',
    h('caption.visually-hidden', `Parameters of ${what}`),
    h('thead', h('tr', ['Name', 'In', 'Type', 'Description'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', params.map(row))));
}

function operation(path, method, op, shared) {
  const id = op.operationId || `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-');
  const params = [...(shared || []), ...(op.parameters || [])].map(deref);
  const body = op.requestBody ? deref(op.requestBody) : null;
  return h('section.card.op', { id, 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, h(`span.method.m-${method}`, method.toUpperCase()), ' ', h('code.path', path)),
    op.summary ? h('p.op-summary', op.summary) : null,
    prose(op.description),
    op.security && op.security.length === 0 ? h('p.muted', 'No authentication.') : null,
    params.length ? [h('h4', 'Parameters'), paramTable(params, `${method.toUpperCase()} ${path}`)] : null,
    body ? [h('h4', `Request body${body.required ? ' (required)' : ''}`), prose(body.description), content(body.content)] : null,
    h('h4', 'Responses'),
    h('dl.responses', Object.entries(op.responses || {}).flatMap(([code, r0]) => {
      const r = deref(r0);
      return [h('dt', h(`span.status.s${String(code)[0]}`, code), ' ', refName(r0) ? h('span.muted', refName(r0)) : null),
        h('dd', prose(r.description), r.content ? h('details', h('summary', 'Body'), content(r.content)) : null)];
    })));
}

async function main() {
  const host = document.getElementById('main');
  let text;
  try {
    const res = await fetch('/openapi.yaml', { headers: { Accept: 'application/yaml, text/yaml, */*' } });
    if (!res.ok) throw new Error(`GET /openapi.yaml answered ${res.status}`);
    text = await res.text();
    spec = load(text);
  } catch (e) {
    clear(host, h('div.notice.notice-error', { role: 'alert' }, h('strong', 'The API description could not be read. '), String(e.message || e)));
    return;
  }
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of ['get', 'put', 'post', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op, item.parameters]);
    }
  }
  const info = spec.info || {};
  clear(document.getElementById('toc'), h('ul', [...byTag].map(([tag, ops]) => h('li', h('a', { href: `#tag-${tag}` }, tag),
    h('ul', ops.map(([path, method, op]) => h('li', h('a', { href: `#${op.operationId || `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-')}` },
      h(`span.method.m-${method}`, method.toUpperCase()), ' ', path))))))));
  clear(host,
    h('h1', info.title || 'API', ' ', h('span.muted', info.version || '')),
    info.summary ? h('p.lede', info.summary) : null,
    prose(info.description),
    [...byTag].map(([tag, ops]) => h('section', { id: `tag-${tag}`, 'aria-labelledby': `tag-${tag}-h` },
      h('h2', { id: `tag-${tag}-h` }, tag),
      ops.map(([path, method, op, shared]) => operation(path, method, op, shared)))));
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

main();
