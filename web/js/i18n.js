// i18n.js — English and Simplified Chinese labels. t(key, vars) looks the key up in the
// current language; a key missing from a language is reported on the console (the browser
// tests fail on such a warning) and shown in English, or as the key itself.
import { en, zh } from './strings.js';

const KEY = 'suanli.lang';
const dicts = { en, zh };
let current = localStorage.getItem(KEY) || ((navigator.language || '').startsWith('zh') ? 'zh' : 'en');
if (!dicts[current]) current = 'en';
const listeners = [];

export const lang = () => current;

export function setLang(l) {
  if (!dicts[l] || l === current) return;
  current = l;
  localStorage.setItem(KEY, l);
  listeners.forEach((fn) => fn(l));
}

export function onLangChange(fn) {
  listeners.push(fn);
}

// quiet: a probe (returns null when missing, no warning).
export function t(key, vars, quiet) {
  let s = dicts[current][key];
  if (s === undefined) {
    if (quiet) return null;
    console.warn(`i18n: missing "${key}" in ${current}`);
    s = en[key] ?? key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}
