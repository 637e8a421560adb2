// Checks every response recorded by the integration suites (JSON Lines written by
// tests/lib/harness.c) against openapi.yaml: the operation must exist, the status must be
// documented for it, the content type must match, and the body must validate against the
// documented schema. Prints "contract: N responses checked, M mismatches" and exits 1 on any.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [specPath, recordsPath] = process.argv.slice(2);
const spec = parse(readFileSync(specPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema(spec, 'spec');

const deref = (obj) => {
  let o = obj;
  while (o && o.$ref) {
    const ptr = o.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    o = ptr.reduce((acc, k) => acc?.[k], spec);
  }
  return o;
};
const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

// path templates → regexes, most specific (fewest parameters) first
const routes = Object.keys(spec.paths || {}).map((tpl) => ({
  tpl,
  re: new RegExp('^' + tpl.split('/').map((seg) => (/^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/') + '$'),
  params: (tpl.match(/\{/g) || []).length,
})).sort((a, b) => a.params - b.params);

const validators = new Map();
const validatorFor = (pointer) => {
  if (!validators.has(pointer)) validators.set(pointer, ajv.compile({ $ref: 'spec#' + pointer }));
  return validators.get(pointer);
};

const problems = [];
let checked = 0;
const lines = readFileSync(recordsPath, 'utf8').split('\n').filter(Boolean);
for (const line of lines) {
  const rec = JSON.parse(line);
  // 431 is libmicrohttpd's own answer to oversized headers, sent before any route is chosen.
  if (rec.status === 431) continue;
  const method = rec.method.toLowerCase();
  const what = `${rec.method} ${rec.path} → ${rec.status}`;
  const route = routes.find((r) => r.re.test(rec.path) && spec.paths[r.tpl][method]);
  if (!route) {
    // Unknown endpoints are answered by the server with 404/405 problems; those are checked
    // against the shared Problem schema.
    if ([404, 405].includes(rec.status)) {
      checked++;
      const v = validatorFor('/components/schemas/Problem');
      if (!v(rec.body)) problems.push(`${what}: problem body: ${ajv.errorsText(v.errors)}`);
    } else {
      problems.push(`${what}: no such operation in openapi.yaml`);
    }
    continue;
  }
  checked++;
  const op = spec.paths[route.tpl][method];
  const responses = op.responses || {};
  const key = [String(rec.status), `${String(rec.status)[0]}XX`, 'default'].find((k) => k in responses);
  if (!key) {
    problems.push(`${what}: status ${rec.status} is not documented (${route.tpl})`);
    continue;
  }
  const resp = deref(responses[key]);
  const content = resp.content || {};
  const mediaTypes = Object.keys(content);
  if (mediaTypes.length === 0) continue; // e.g. 204
  const ct = (rec.content_type || '').split(';')[0].trim();
  const mt = mediaTypes.find((m) => m.split(';')[0].trim() === ct);
  if (!mt) {
    problems.push(`${what}: content type ${ct || '(none)'} not in ${mediaTypes.join(', ')}`);
    continue;
  }
  if (!('body' in rec) || !content[mt].schema) continue; // text bodies (CSV, YAML, metrics)
  // pointer to the schema, following a $ref'd response object
  let pointer;
  if (responses[key].$ref) pointer = responses[key].$ref.replace(/^#/, '') + `/content/${esc(mt)}/schema`;
  else pointer = `/paths/${esc(route.tpl)}/${method}/responses/${key}/content/${esc(mt)}/schema`;
  const v = validatorFor(pointer);
  if (!v(rec.body)) problems.push(`${what}: ${ajv.errorsText(v.errors)} — body ${JSON.stringify(rec.body).slice(0, 300)}`);
}

const unique = [...new Set(problems)];
for (const p of unique.slice(0, 200)) console.log('  mismatch: ' + p);
if (unique.length > 200) console.log(`  … and ${unique.length - 200} more`);
console.log(`contract: ${checked} responses checked, ${problems.length} mismatches`);
process.exit(problems.length ? 1 : 0);
